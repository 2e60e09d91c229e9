"""No credentials for a path that leaves the index root (issue 9.3): dot segments, `%2e`, `%2f`."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import DRIVERS, Call
from index_server import IndexServer
from indexauth import Index
from indexauth._flow import Authenticator
from indexauth._resolver import Resolver
from indexauth._urls import effective_path

ALICE, BOB = "alice-S3CRET-a", "bob-S3CRET-b"
TRAVERSALS = [
    "/team-a/simple/%2e%2e/%2e%2e/team-b/files/x.whl",
    "/team-a/simple/%2E%2E/%2e./team-b/files/x.whl",
    "/team-a/simple/../../team-b/files/x.whl",
    "/team-a/simple/pkg/%2e%2e/%2e%2e/%2e%2e/team-b/files/x.whl",
    "/team-a/./simple/.%2e/.%2E/team-b/files/x.whl",
]
AMBIGUOUS = [
    "/team-a/simple/..%2f..%2fteam-b/files/x.whl",
    "/team-a/simple/%2e%2e%2F%2e%2e%2Fteam-b/files/x.whl",
    "/team-a/simple/..%5c..%5cteam-b/files/x.whl",
    "/team-a/simple/..;/..;/team-b/files/x.whl",
    # `;` encoded: a server that decodes the path before reading `;params` sees `..;`.
    "/team-a/simple/..%3b/..%3B/team-b/files/x.whl",
    # Encoded twice: a proxy that decodes once hands its backend `%2e%2e`.
    "/team-a/simple/%252e%252e/%252E%252E/team-b/files/x.whl",
]


def server_path(path: str) -> str:
    """What a server that decodes `%2e` and removes dot segments serves (as nginx does)."""
    decoded = path.replace("%2e", ".").replace("%2E", ".")
    normal = posixpath.normpath(decoded)
    normal = "/" + normal.lstrip("/")
    return normal + "/" if decoded.endswith(("/", "/.", "/..")) and normal != "/" else normal


@pytest.mark.parametrize("driver_name", list(DRIVERS))
@pytest.mark.parametrize("path", TRAVERSALS + AMBIGUOUS)
def test_no_credentials_for_a_path_out_of_the_root(
    server: IndexServer, driver_name: str, path: str
) -> None:
    """team-a's password never goes with a path that climbs to team-b, over every driver's wire."""
    server.route("/", users={"alice": ALICE, "bob": BOB})
    base = f"127.0.0.1:{server.port}"
    indexes = [
        Index(f"http://alice:{ALICE}@{base}/team-a/simple/", authenticate="always"),
        Index(f"http://{base}/team-b/simple/"),
    ]
    driver = DRIVERS[driver_name]()
    options = {"keyring_provider": "disabled"}
    driver.run(
        [Call(server.url("/team-a/simple/pkg/")), Call(server.url(path))],
        indexes=indexes,
        options=options,
    )
    first, *rest = server.seen
    assert first.user == "alice"  # the control: team-a's own pages get the password
    assert rest
    for seen in rest:
        if path in AMBIGUOUS or not server_path(seen.path).startswith("/team-a/"):
            # Out of the root, or read differently by different servers: nothing is sent.
            assert seen.authorization is None, (seen.path, seen.authorization)


def test_traversal_to_another_index_gets_that_index(server: IndexServer) -> None:
    """A path that really resolves under team-b is team-b's: its credentials, not team-a's."""
    server.route("/", users={"alice": ALICE, "bob": BOB})
    base = f"127.0.0.1:{server.port}"
    indexes = [
        Index(f"http://alice:{ALICE}@{base}/team-a/simple/", authenticate="always"),
        Index(f"http://bob:{BOB}@{base}/team-b/simple/", authenticate="always"),
    ]
    (result,) = DRIVERS["requests"]().run(
        [Call(server.url(TRAVERSALS[0]))], indexes=indexes, options={"keyring_provider": "disabled"}
    )
    assert getattr(result, "status", None) == 200
    assert [s.user for s in server.seen] == ["bob"]


SEGMENTS = st.sampled_from(
    ["team-a", "team-b", "simple", "x.whl", "", ".", "..", "%2e", "%2E%2e", ".%2e", "%2e.",
     "..%2f..", "a%2Fb", "..%5c", "..;", ".;x", "a\\..", "%252e%252e", "...", ".a"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(SEGMENTS, max_size=8))
def test_match_never_credits_a_path_outside_the_root(segments: list[str]) -> None:
    """Property: the index chosen for a path covers that path as a normalising server reads it."""
    path = "/" + "/".join(segments)
    indexes = [Index("https://h.example/team-a/simple/"), Index("https://h.example/team-b/")]
    target = Authenticator(indexes, Resolver(())).match(f"https://h.example{path}")
    effective = effective_path(path)
    if effective is None:
        assert target is None
        return
    assert target is not None
    served = server_path(path)
    if any(mark in path.lower() for mark in ("%2f", "%5c", "\\", ";")):
        # Where servers disagree, a match is only allowed when every reading stays inside.
        loose = path.replace("%2f", "/").replace("%2F", "/").replace("%5c", "/")
        loose = loose.replace("%5C", "/").replace("\\", "/")
        readings = {served, server_path(loose)}
    else:
        readings = {served}
    if target.index is not None:
        root = target.index.root
        for reading in readings:
            assert reading == root or reading.startswith(root + "/"), (path, reading, root)
