"""No credentials for a path that leaves the index root (issue 9.3): dot segments, `%2e`, `%2f`."""

from __future__ import annotations

import contextlib
import posixpath
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import indexauth
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
# Dot segments in disguise: segments some server decodes to `..` (issue 9 leftovers).
DISGUISED = [
    "/team-a/simple/..%00/..%00/team-b/files/x.whl",  # C code stops at the NUL
    "/team-a/simple/%c0%ae%c0%ae/%c0%ae%c0%ae/team-b/files/x.whl",  # overlong UTF-8
    "/team-a/simple/%u002e%u002e/%u002e%u002e/team-b/files/x.whl",  # IIS %u escapes
    "/team-a/simple/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/team-b/files/x.whl",  # full-width dots
    "/team-a/simple/..%20/..%20/team-b/files/x.whl",  # Windows trims trailing spaces
    "/team-a/simple/%25c0%25ae%25c0%25ae/%25c0%25ae./team-b/files/x.whl",  # overlong, twice
    "/team-a/simple/..%c0%af..%c0%afteam-b/files/x.whl",  # an overlong `/`
    "/team-a/simple/..::$DATA/..::$DATA/team-b/files/x.whl",  # an NTFS stream name
    # `?` and `#` encoded: a proxy that decodes once hands its backend `..?/..#/...`, whose
    # path ends at the `..` (the same proxy as `%252e`'s).
    "/team-a/simple/..%3f/..%23/team-b/files/x.whl",
    # A byte that is not UTF-8 beside the dots: a server that drops what it cannot decode
    # (`errors="ignore"`) reads `..`, the same after one more decoding (`%25ff`).
    "/team-a/simple/..%ff/%c0../team-b/files/x.whl",
    "/team-a/simple/.%e0.%80/..%25ff/team-b/files/x.whl",
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


@pytest.mark.parametrize("driver_name", list(DRIVERS))
def test_no_credentials_for_a_dot_segment_in_disguise(server: IndexServer, driver_name: str) -> None:
    """`..%00`, `%c0%ae`, `%u002e`, ...: team-a's password is on no request's wire, nor sent after a 401."""
    server.route("/", users={"alice": ALICE, "bob": BOB})
    base = f"127.0.0.1:{server.port}"
    indexes = [
        Index(f"http://alice:{ALICE}@{base}/team-a/simple/", authenticate="always"),
        Index(f"http://alice:{ALICE}@{base}/team-c/simple/"),  # auto: would answer a 401
        Index(f"http://{base}/team-b/simple/"),
    ]
    calls = [Call(server.url("/team-a/simple/pkg/"))]
    calls += [Call(server.url(path)) for path in DISGUISED]
    calls += [Call(server.url(path.replace("team-a", "team-c"))) for path in DISGUISED]
    DRIVERS[driver_name]().run(calls, indexes=indexes, options={"keyring_provider": "disabled"})
    first, *rest = server.seen
    assert first.user == "alice"  # the control: team-a's own pages get the password
    assert len(rest) == 2 * len(DISGUISED)
    assert [(s.path, s.authorization) for s in rest if s.authorization] == []


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


# Ways to write `.` that some server decodes: percent (once, twice), overlong UTF-8 with and
# without valid continuation bytes, IIS `%u`, and Unicode compatibility forms (NFKC).
DOTS = st.sampled_from(
    [".", "%2e", "%2E", "%252e", "%25252E", "%c0%ae", "%C0%AE", "%c0%2e", "%c0.", "%e0%80%ae",
     "%f0%80%80%ae", "%f8%80%80%80%ae", "%u002e", "%U002E", "%uff0e", "%ef%bc%8e",
     "%e2%80%a4", "%ef%b9%92", "%25u002e"]
)
# What servers drop from a name (NUL, controls, spaces, zero-width, BOM, no-break space).
DROPPED = st.sampled_from(["%00", "%20", "%09", "%0d", "%e2%80%8b", "%ef%bb%bf", "%c2%a0", "%u0000"])
# What a server cuts a name at: Tomcat's `;params`, a NUL to C code, an NTFS stream, and
# a query or fragment once a proxy has decoded `%3f` / `%23` and handed the path on.
CUT = st.sampled_from(
    [";", ";jsessionid=1", "%3b", "%3Bx", "%00x", "%00.whl", "::$DATA", ":x", "%3f", "%3Fx=1", "%23", "%23x"]
)
NAMES = st.text(
    st.sampled_from("abcxyz019.-_~+@ é"), min_size=1, max_size=12
).filter(lambda name: any(c.isalnum() for c in name))


@st.composite
def disguised_dot_segments(draw: st.DrawFn) -> str:
    """A segment some server reads as `.` or `..`, other than a plain one."""
    parts = draw(st.lists(DROPPED, max_size=2))
    for _ in range(draw(st.integers(1, 2))):
        parts.append(draw(DOTS))
        parts += draw(st.lists(DROPPED, max_size=1))
    if draw(st.booleans()):
        cut = draw(CUT)
        # Reading up to a NUL is reading up to the first one: a NUL before the dots hides them.
        assume(not (cut.startswith("%00") and any(p in ("%00", "%u0000") for p in parts)))
        parts.append(cut)
    segment = "".join(parts)
    plain = segment.replace("%2e", ".").replace("%2E", ".")
    assume(plain not in (".", ".."))  # a plain dot segment is resolved, not refused
    return segment


@settings(max_examples=500, deadline=None)
@given(
    before=st.lists(NAMES.map(quote), max_size=3),
    dot=disguised_dot_segments(),
    after=st.lists(NAMES.map(quote), max_size=3),
    index=st.sampled_from(["team-a/simple/", "team-b/", "", "simple/"]),
)
def test_property_a_dot_segment_in_disguise_is_outside_every_index(
    before: list[str], dot: str, after: list[str], index: str
) -> None:
    """Property: a path with a segment some server decodes to dots matches no index at all.

    No index, no realm: nothing is sent up front and no challenge is answered (the flow
    keeps the request as it is); the fast matcher and the slow one (userinfo in the URL)
    agree.
    """
    path = "/" + "/".join(["team-a", "simple", *before, dot, *after])
    assert effective_path(path) is None, path
    indexes = [Index(f"https://h.example/{index}"), Index("https://h.example/team-a/simple/")]
    authenticator = Authenticator(indexes, Resolver(()))
    assert authenticator.match(f"https://h.example{path}") is None, path
    assert authenticator.match(f"https://u:p@h.example{path}") is None, path


@settings(max_examples=300, deadline=None)
@given(names=st.lists(NAMES.map(lambda name: quote(name, safe=".-_~")), min_size=1, max_size=5))
def test_property_names_with_dots_are_ordinary(names: list[str]) -> None:
    """Property: `a..b`, `.well-known`, `pkg-1.0.tar.gz`: names with a letter or digit stay put."""
    path = "/team-a/simple/" + "/".join(names)
    assert effective_path(path) == path
    target = Authenticator([Index("https://h.example/team-a/simple/")], Resolver(())).match(
        f"https://h.example{path}"
    )
    assert target is not None
    assert target.index is not None
    assert target.index.root == "/team-a"


# Characters a client writes out as `%XX` on the wire: controls, spaces (dropped by some
# servers), and a few others; a path may reach `match` either way (a URL a tool asks the
# credential helper or keyring about, written as the user typed it).
_C0_OR_SPACE = "".join(map(chr, range(0x21))) + "\x7f"
WRITTEN_OR_ESCAPED = st.sampled_from(
    [".", ".", "a", " ", "\x0b", "\x0c", "\x1f", "\x7f", "\\", ";", "%2e", "\u00e9", "\u200b",
     "\u3000", "\u00a0", "\ufeff", "\uff0e", ":", "/", "//", "%20", "%00", "x"]
)


@settings(max_examples=1000, deadline=None)
@given(tail=st.lists(WRITTEN_OR_ESCAPED, max_size=8).map("".join))
@example(tail=" ../ ../ ../team-b/")  # a space some servers drop: `..` once dropped
@example(tail="\x0b../\x1f../x")
@example(tail="x/ /../../../team-b/")  # a space alone: an empty segment, which some servers merge
def test_property_a_character_written_out_or_escaped_gets_the_same_answer(tail: str) -> None:
    """Property: a path whose `%XX` form is refused is refused written out too (`%20..` and
    ` ..`, `%0b` and a vertical tab): the wire carries the same bytes either way."""
    path = "/team-a/simple/" + tail
    escaped = quote(path, safe="/%")
    assert (effective_path(path) is None) == (effective_path(escaped) is None), (path, escaped)
    # A URL's own trailing controls and spaces are no part of its path: parsers strip them.
    if effective_path(escaped) is None and path == path.rstrip(_C0_OR_SPACE) == path.rstrip():
        authenticator = Authenticator([Index("https://h.example/team-a/simple/")], Resolver(()))
        assert authenticator.match(f"https://h.example{path}") is None, path


@pytest.mark.parametrize(
    "path", ["/team-a/simple/a..b/", "/team-a/.well-known/x", "/team-a/simple/pkg/pkg-1.0.tar.gz"]
)
def test_ordinary_names_with_dots_get_credentials(server: IndexServer, path: str) -> None:
    """The control for the refusals above: dotted names get the index's password on the wire."""
    server.route("/", users={"alice": ALICE})
    index = Index(server.url("/team-a/simple/").replace("http://", f"http://alice:{ALICE}@"))
    DRIVERS["requests"]().run([Call(server.url(path))], indexes=[index], options={})
    assert [s.user for s in server.seen] == ["alice"]


def test_global_mode_sends_nothing_to_a_dot_segment_in_disguise(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`INDEXAUTH=1` in process: requests, pip's own session, httpx and httpx2 send no password."""
    import httpx
    import requests
    from pip._internal.network.session import PipSession

    server.route("/", users={"alice": ALICE})
    monkeypatch.setenv("INDEXAUTH_INDEX_A_URL", server.url("/team-a/simple/"))
    monkeypatch.setenv("INDEXAUTH_INDEX_A_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_A_PASSWORD", ALICE)
    monkeypatch.setenv("INDEXAUTH_INDEX_A_AUTHENTICATE", "always")
    urls = [server.url(path) for path in DISGUISED[:4]]
    indexauth.install()
    try:
        with requests.Session() as session:
            session.trust_env = False
            statuses = [session.get(server.url("/team-a/simple/pkg/")).status_code]
            statuses += [session.get(url).status_code for url in urls]
        pip_session = PipSession(cache=str(tmp_path / "cache"), index_urls=[server.url("/team-a/simple/")])
        statuses += [pip_session.get(url).status_code for url in urls]
        pip_session.close()
        for library in (httpx, pytest.importorskip("httpx2")):
            with library.Client(trust_env=False) as client:
                statuses += [client.get(url).status_code for url in urls]
    finally:
        indexauth.uninstall()
    first, *rest = server.seen
    assert first.user == "alice"  # the control: global mode sends team-a's password to its pages
    assert statuses == [200] + [401] * (4 * len(urls))
    assert [(s.path, s.authorization) for s in rest if s.authorization] == []


def _server_decodings(segment: str) -> set[str]:
    """What servers may make of *segment*: `%XX` decoded 1-3 times, each time as strict UTF-8
    (no reading when invalid), UTF-8 with what it cannot decode dropped, or Latin-1."""
    found, texts = set(), {segment}
    for _ in range(3):
        decoded = set()
        for text in texts:
            data = unquote_to_bytes(text)
            for errors in ("strict", "ignore"):
                with contextlib.suppress(UnicodeDecodeError):  # strict: no reading at all
                    decoded.add(data.decode("utf-8", errors))
            decoded.add(data.decode("latin-1"))
        found |= decoded
        texts = decoded
    return found


# Dots, `%2e`, any byte percent-escaped (once or twice), a letter now and then.
ESCAPED_BYTE = st.integers(0, 255).map(lambda b: f"%{b:02x}")
SEGMENT_PARTS = st.one_of(
    st.sampled_from([".", ".", "%2e", "%2E", "a"]),
    ESCAPED_BYTE,
    st.integers(0x80, 0xFF).map(lambda b: f"%{b:02X}"),
    ESCAPED_BYTE.map(lambda escape: "%25" + escape[1:]),
)


@settings(max_examples=1000, deadline=None)
@given(segment=st.lists(SEGMENT_PARTS, min_size=1, max_size=5).map("".join))
@example(segment="..%ff")
@example(segment="..%c0")
@example(segment="%ff..")
@example(segment=".%ff.")
@example(segment="..%e0%80")
@example(segment="..%25ff")
@example(segment="..%c0%ae")
@example(segment="%2e%2e")
def test_property_dots_beside_bytes_a_server_drops_are_never_credited(segment: str) -> None:
    """Property: a segment that some server decodes to `.` or `..` (strict UTF-8, UTF-8 with
    errors ignored, Latin-1, decoded again) is removed as RFC 3986 removes it, or gets `None`."""
    path = f"/team-a/simple/{segment}/b/"
    dots = _server_decodings(segment) & {".", ".."}
    effective = effective_path(path)
    if dots and effective is not None:
        assert {posixpath.normpath(f"/team-a/simple/{dot}/b") + "/" for dot in dots} == {effective}, path


@pytest.mark.parametrize("segment", ["..%c0.", ".%c0..", "..%e0.x", "%e0%80.."])
def test_dots_beside_a_sequence_a_server_drops_whole(segment: str) -> None:
    """A decoder may drop an undecodable sequence with the bytes its lead byte announces
    (`%c0.` as one unit): what is left is `..`, so nothing is credited."""
    assert effective_path(f"/team-a/simple/{segment}/b/") is None


def test_a_segment_with_too_many_readings_is_refused() -> None:
    """Each round reads undecodable bytes three ways, so nested escapes multiply the readings
    (`%c0a` is `!`, `a` or nothing): past `_MAX_READINGS` the segment is refused, not read."""
    three_deep = "%c0a%25c0b%2525c0c"  # 40 readings: read, no dots, an ordinary name
    assert effective_path(f"/team-a/simple/{three_deep}/b/") == f"/team-a/simple/{three_deep}/b/"
    assert effective_path(f"/team-a/simple/{three_deep}%252525c0d/b/") is None  # 121 readings


@pytest.mark.parametrize(
    "segment", ["pkg-1.0%2Btag.tar.gz", "a..b", "%c3%a9..x", "%c3%a9..", "..%c3%a9", "caf%e9..", "%ff", "a%ff.."]
)
def test_names_beside_bytes_a_server_drops_stay_ordinary(segment: str) -> None:
    """The control: names with dots and escapes that no decoding makes `.` or `..` keep their path."""
    path = f"/team-a/simple/{segment}/b/"
    assert effective_path(path) == path
