"""Where a request really goes, as each client library writes it, against the index `match` picks.

`match` reads the URL string a driver hands the flow (`url_of(request.url)` for
httpx and httpx2, `PreparedRequest.url` for requests). These properties build
that string the way the client library does, from text a caller could pass,
and check the security rule against what goes on the wire: an index's
credentials only for its own scheme, host and effective port, and for a path
that every plausible server reading (percent-decoded up to twice, a backslash
read as `/`, `;` parameters cut, dot segments removed) keeps under its root.
"""

from __future__ import annotations

import importlib
import posixpath
from typing import Any
from urllib.parse import unquote

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

import indexauth
from indexauth._flow import Authenticator
from indexauth._httpx_send import url_of
from indexauth._resolver import Resolver
from indexauth._urls import wire_host

AUTH = Authenticator(
    (
        indexauth.Index("https://h.example/a/simple/", name="a"),
        indexauth.Index("https://h.example:8443/b/", name="b"),
        indexauth.Index("http://h.example/c/", name="c"),
        indexauth.Index("https://b\u00fccher.example/d/", name="d"),
        indexauth.Index("https://stra\u00dfe.example/e/", name="e"),
    ),
    Resolver(()),
)
BASES = st.sampled_from(
    [
        "https://h.example",
        "https://h.example:8443",
        "http://h.example",
        "HTTPS://H.example",
        "https://h.example:443",
        "https://h.example:0443",
        "https://u:p@h.example",
        "https://tok@h.example",
        "https://h.example.",
        "https://b\u00fccher.example",
        "https://B\u00dcCHER.example",
        "https://xn--bcher-kva.example",
        "https://stra\u00dfe.example",
        "https://strasse.example",
        "https://xn--strae-oqa.example",
    ]
)
PIECES = st.sampled_from(
    ["/", "a", "simple", "b", "c", "d", "e", "..", ".", "%2e", "%2E", "%252e", "%2f", "%5c", "\\", ";", "%3b", "%00",
     "x", "?", "#", "@", ":", "u:p@", "h.example", ":443", ":8443", "%2e%2e", ".%2e", "%u002e", "\uff0e",
     "\u3002", "%ef%bc%8e", " ", "\t"]
)  # fmt: skip
DEFAULT_PORTS = {"http": 80, "https": 443}


def _readings(raw_path: str) -> list[str]:
    """The paths servers may make of *raw_path*: decoded 0-2 times, `\\` as `/`, `;` cut, normalised."""
    found = []
    for rounds in range(3):
        text = raw_path
        for _ in range(rounds):
            text = unquote(text)
        for variant in (text, text.replace("\\", "/"), text.split(";")[0]):
            found.append(posixpath.normpath("/" + variant.lstrip("/")))
    return found


def _check(url: str, scheme: str, host: str, port: int | None, raw_path: str) -> None:
    """If `match(url)` names an index, the request goes to its realm and stays under its root."""
    target = AUTH.match(url)
    if target is None or target.index is None:
        return
    realm, root = target.index.realm, target.index.root
    # A Unicode host is sent as its IDNA name: the same host, which is all a request may reach.
    expected = (realm.scheme, wire_host(realm.host) or realm.host, realm.port)
    assert (scheme, host, port or DEFAULT_PORTS[scheme]) == expected, (url, realm)
    for path in _readings(raw_path):
        assert not root or path == root or path.startswith(root + "/"), (url, raw_path, path, root)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(base=BASES, rest=st.lists(PIECES, max_size=10).map("".join))
@example(base="https://h.example", rest="/a/simple/%2e%2e/%2e%2e/x/")
@example(base="https://h.example", rest="/a/simple/..%5c..%5cx/")
def test_httpx_request_goes_where_its_match_allows(library: str, base: str, rest: str) -> None:
    """httpx's URL (what `url_of` writes and the transport sends) never carries credentials out."""
    module: Any = importlib.import_module(library)
    try:
        request = module.Request("GET", base + rest)
    except Exception:  # httpx refused the text: nothing is sent
        return
    url = request.url
    raw = url.raw_path.decode("ascii").partition("?")[0]
    _check(url_of(url), url.scheme, url.host, url.port, raw)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(base=BASES, rest=st.lists(PIECES, max_size=10).map("".join))
@example(base="https://h.example", rest="/a/simple/%2e%2e/%2e%2e/x/")
def test_requests_request_goes_where_its_match_allows(base: str, rest: str) -> None:
    """requests' prepared URL (what the adapter matches and urllib3 sends) never carries credentials out."""
    try:
        prepared = requests.Request("GET", base + rest).prepare()
    except Exception:  # requests refused the text: nothing is sent
        return
    url = prepared.url or ""
    parts = parse_url(url)
    _check(url, parts.scheme or "", parts.host or "", parts.port, parts.path or "/")


def _written(library: str, text: str) -> str:
    """The URL string the driver for *library* hands the flow for a request to *text*."""
    if library == "requests":
        return requests.Request("GET", text).prepare().url or ""
    module: Any = importlib.import_module(library)
    return url_of(module.Request("GET", text).url)


@pytest.mark.parametrize("library", ["requests", "httpx", "httpx2"])
def test_an_index_with_a_unicode_host_name_gets_its_requests(library: str) -> None:
    """An index configured as `https://bücher.example/d/` matches the requests clients send there
    (to `xn--bcher-kva.example`, the same host), however the host was spelled; `straße` is never
    read as `strasse` (IDNA 2003), which is another host."""
    index = AUTH.indexes[3]
    for text in ("https://b\u00fccher.example/d/x/", "https://B\u00dcCHER.example/d/x/",
                 "https://xn--bcher-kva.example/d/x/"):  # fmt: skip
        url = _written(library, text)
        target = AUTH.match(url)
        assert url.startswith("https://xn--bcher-kva.example/")
        assert target is not None and target.index is index, (text, url)
    target = AUTH.match(_written(library, "https://stra\u00dfe.example/e/x/"))
    assert target is not None and target.index is AUTH.indexes[4]
    target = AUTH.match(_written(library, "https://strasse.example/e/x/"))
    assert target is not None and target.index is None
