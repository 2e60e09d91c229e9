"""URL rules: realms, roots, whole-segment matching, service names, redaction (with properties)."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import indexauth
from indexauth._flow import Authenticator
from indexauth._models import env_name
from indexauth._resolver import Resolver
from indexauth._urls import UrlError, is_path_prefix, realm_of, redact, root_path, service_names, split_url

segment = st.text(string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
path = st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts))
secret = st.text(string.ascii_letters + string.digits + "!$&'()*+,;=:%@/?#[] ", min_size=1, max_size=20)


def _auth(*indexes: indexauth.Index) -> Authenticator:
    return Authenticator(indexes, Resolver(()))


class TestRealm:
    """Realms compare scheme, host and effective port."""

    def test_default_port_is_dropped(self) -> None:
        """https://h:443 and https://h are one realm."""
        assert realm_of("https://H.example:443/x") == realm_of("https://h.example/y")

    def test_http_and_https_differ(self) -> None:
        """http and https on the same host are different realms: no http-to-https reuse."""
        assert realm_of("http://h.example/") != realm_of("https://h.example/")

    def test_other_port_differs(self) -> None:
        """https://h:80 is not https://h."""
        assert realm_of("https://h.example:80/") != realm_of("https://h.example/")

    @given(st.sampled_from(["http", "https"]), st.integers(1, 65535))
    def test_netloc_round_trip(self, scheme: str, port: int) -> None:
        """The realm's string form parses back to the same realm."""
        realm = realm_of(f"{scheme}://h.example:{port}/p")
        assert realm_of(str(realm)) == realm


class TestRoot:
    """The index root drops a final simple or +simple segment."""

    @pytest.mark.parametrize(
        ("url_path", "root"),
        [
            ("/api/pypi/x/simple", "/api/pypi/x"),
            ("/api/pypi/x/simple/", "/api/pypi/x"),
            ("/alice/dev/+simple/", "/alice/dev"),
            ("/SIMPLE/", ""),
            ("/pypi/", "/pypi"),
            ("/whl/cu121", "/whl/cu121"),
            ("", ""),
        ],
    )
    def test_examples(self, url_path: str, root: str) -> None:
        """Roots as uv computes them."""
        assert root_path(url_path) == root

    @given(path)
    def test_root_is_idempotent_and_a_prefix(self, p: str) -> None:
        """A root's root is itself, and a root always covers the path it came from."""
        root = root_path(p)
        assert root_path(root) == root or root_path(root) == root_path(root_path(root))
        assert is_path_prefix(root, p.rstrip("/") or "/")


class TestMatching:
    """A request matches an index in whole path segments; the longest root wins."""

    @given(path, segment, st.text(string.ascii_letters, min_size=1, max_size=4))
    def test_partial_segment_never_matches(self, base: str, last: str, extra: str) -> None:
        """/x/pypi never covers /x/pypievil."""
        root = base.rstrip("/") + "/" + last
        index = indexauth.Index(f"https://h.example{root}/")
        target = _auth(index).match(f"https://h.example{root}{extra}/file")
        if last.lower() in ("simple", "+simple"):
            return  # the root is the parent, which covers this path on purpose
        assert target is not None and target.index is None

    @given(path, path)
    def test_whole_segment_prefix_matches(self, root: str, rest: str) -> None:
        """Every path under the root, and the root itself, belongs to the index."""
        index = indexauth.Index(f"https://h.example{root}")
        target = _auth(index).match(f"https://h.example{root.rstrip('/')}{rest}")
        assert target is not None and target.index == index

    @given(st.lists(path, min_size=1, max_size=5, unique=True), path)
    def test_longest_root_wins(self, roots: list[str], rest: str) -> None:
        """Of all indexes covering the URL, the one with the longest root is chosen."""
        indexes = [indexauth.Index(f"https://h.example{r}/", name=f"i{n}") for n, r in enumerate(roots)]
        url_path = roots[-1].rstrip("/") + rest
        target = _auth(*indexes).match(f"https://h.example{url_path}")
        assert target is not None and target.index is not None
        covering = [i for i in indexes if is_path_prefix(i.root, url_path)]
        assert len(target.index.root) == max(len(i.root) for i in covering)

    @given(
        st.sampled_from(["http", "https", "HTTPS", "ftp"]),
        st.sampled_from(["h.example", "H.Example", "h.example:443", "h.example:8443", "[::1]:80", "u:p@h.example", ""]),
        st.text(string.ascii_letters + "/?#%@:+ \t", max_size=20)
        | st.lists(st.sampled_from(["a", "/", "?", "#", "simple", "x", "@", ":", " "]), max_size=8).map("".join),
        st.sampled_from(["/", "?", "#", ""]),
    )
    @example("https", "h.example", "/a/x", "?")  # a query right after the host, then a "/"
    @example("https", "h.example", "/a/x", "#")
    def test_fast_match_agrees_with_full_parse(self, scheme: str, authority: str, rest: str, sep: str) -> None:
        """The cached realm path gives the same answer as parsing the whole URL, every time."""
        auth = _auth(
            indexauth.Index("https://h.example/a/simple/", name="a"),
            indexauth.Index("https://h.example:8443/", name="b"),
        )
        url = f"{scheme}://{authority}{sep}{rest}"
        first, second = auth.match(url), auth.match(url)  # the second one hits the cache
        assert first == second == auth._match_slowly(url)

    @given(
        st.sampled_from(["", " ", "\t", "\x0b"]),
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        st.sampled_from(["://", ":/", ""]),
        st.sampled_from(["h.example", "H.Example:443", "h.example:8443", "[::1]:80", "u:p@h.example", "h.example?",
                         "h.example#", "b\u00fccher.example", "h.example\r", "h\x00.example", ""]),
        st.lists(
            st.sampled_from(["a", "simple", "..", ".", "%2e", "%2E%2e", "%252e", "..%2f..", "%00", "\\", "", "x y",
                             "\u00fc", "?q=/../", "#f/..", "@", "\n", "\t", "..;", "a.b"]),
            max_size=6,
        ).map("/".join),
        st.sampled_from(["", "/", " ", "\t", "\u3000"]),
    )
    @example("", "https", "://", "h.example", "a/simple/x", "")
    @example("", "https", "://", "h.example?", "a/simple/x", "")  # a query right after the host
    @example("", "https", "://", "h.example#", "a/simple/x", "")
    @example("", "https", "://", "h.example", "a/\tsimple/x", "")  # characters URL parsers drop
    @example("", "https", "://", "h.example", "a/\nsimple/x", "")
    @example("", "https", "://", "h.example", "a/\rsimple/x", "")
    @example("", "https", "://", "h.example", "a/simple\x00/x", "")
    @example(" ", "https", "://", "h.example", "a/simple/x", "")  # white space either side
    @example("", "https", "://", "h.example", "a/simple", "\u3000")
    @example("", "https", "://", "h.example", "x#/../a/simple/y", "?q")  # a fragment, then a query
    @settings(max_examples=300)
    def test_usual_url_shortcut_agrees_with_the_whole_match(
        self, lead: str, scheme: str, sep: str, authority: str, rest: str, tail: str
    ) -> None:
        """`match` takes a shorter way for the usual URL: every string gives exactly what
        `_match` gives, with control characters, white space at either end, a user part, a
        query or fragment right after the host, dot segments in disguise and non-ASCII."""
        auth = _auth(
            indexauth.Index("https://h.example/a/simple/", name="a"),
            indexauth.Index("https://h.example:8443/", name="b"),
            indexauth.Index("http://h.example/", name="c"),
        )
        url = f"{lead}{scheme}{sep}{authority}/{rest}{tail}"
        assert auth.match(url) == auth._match(url)

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["https://h.example", "https://h.example:8443", "http://h.example", "https://g.example"]),
                st.lists(st.sampled_from(["a", "A", "b", "simple", "+simple", "a.b"]), max_size=4),
                st.sampled_from(["", "/"]),
            ),
            max_size=12,
        ),
        st.sampled_from(["https://h.example", "https://H.example:443", "http://h.example", "https://g.example", "https://x.example"]),
        st.lists(st.sampled_from(["a", "A", "b", "simple", "ab", "a.b", ""]), max_size=5),
        st.sampled_from(["", "/", "?q=1", "#f"]),
    )
    @example([("https://h.example", ["a"], "/")], "https://h.example", ["ab"], "")  # not a whole segment
    @example([("https://h.example", ["a"], ""), ("https://h.example", [], "")], "https://h.example", ["a", "b"], "")
    def test_grouped_matcher_equals_linear_scan(
        self, specs: list[tuple[str, list[str], str]], base: str, segments: list[str], tail: str
    ) -> None:
        """Matching by realm and root prefix picks exactly what a scan of every index picks,
        both by trying each root length and by walking the request path's segments."""
        from indexauth import _flow

        indexes = [
            indexauth.Index(origin + "/" + "/".join(parts) + slash, name=f"i{n}")
            for n, (origin, parts, slash) in enumerate(specs)
        ]
        url = base + "/" + "/".join(segments) + tail
        url_path = "/" + "/".join(segments)
        few = _flow._FEW_SIZES
        for sizes in (0, 100):  # walk the path's segments / try every root length
            _flow._FEW_SIZES = sizes
            try:
                target = _auth(*indexes).match(url)
            finally:
                _flow._FEW_SIZES = few
            assert target is not None
            linear = None  # the matcher as it was: every index, strictly longer root wins
            for index in indexes:
                if index.covers(target.realm, url_path) and (linear is None or len(index.root) > len(linear.root)):
                    linear = index
            assert target.index is linear

    def test_realm_cache_evicts_least_recently_used(self) -> None:
        """A crawl over many unconfigured hosts keeps the host in use cached instead of emptying the cache."""
        from indexauth import _flow

        auth = _auth(indexauth.Index("https://configured.example/simple/"))
        auth.match("https://keep.example/simple/a/")
        for n in range(_flow._REALM_CACHE * 2):
            auth.match(f"https://h{n}.example/simple/")
            if n % 100 == 0:
                auth.match("https://keep.example/simple/a/")
        hits = _flow._realm.cache_info().hits
        target = auth.match("https://keep.example/simple/b/")
        assert target is not None and target.realm == realm_of("https://keep.example/")
        assert _flow._realm.cache_info().hits == hits + 1
        assert _flow._realm.cache_info().currsize <= _flow._REALM_CACHE

    def test_configured_authorities_need_no_cache(self) -> None:
        """Requests to configured indexes never enter the bounded cache, however many hosts there are."""
        from indexauth import _flow

        indexes = [indexauth.Index(f"https://h{n}.example/simple/", name=f"i{n}") for n in range(_flow._REALM_CACHE + 10)]
        auth = _auth(*indexes)
        before = _flow._realm.cache_info()
        for index in indexes:
            target = auth.match(index.url + "pkg/")
            assert target is not None and target.index is index
        after = _flow._realm.cache_info()
        assert (after.hits, after.misses) == (before.hits, before.misses)

    def test_other_realm_never_matches(self) -> None:
        """An https index never matches an http URL, nor another port or host."""
        auth = _auth(indexauth.Index("https://h.example/simple/"))
        for url in ("http://h.example/simple/x/", "https://h.example:8443/simple/x/", "https://g.example/simple/"):
            target = auth.match(url)
            assert target is not None and target.index is None

    def test_non_http_urls_are_not_ours(self) -> None:
        """file:// and other schemes pass through untouched."""
        assert _auth().match("file:///tmp/x") is None


class TestServiceNames:
    """Keyring service names, in the documented order."""

    def test_order_with_port(self) -> None:
        """URL as configured, slash toggled, scheme://host:port, host:port, bare host."""
        assert service_names("https://h.example:8443/simple/") == (
            "https://h.example:8443/simple/",
            "https://h.example:8443/simple",
            "https://h.example:8443",
            "h.example:8443",
            "h.example",
        )

    def test_plain_http_gets_no_scheme_less_names(self) -> None:
        """An entry under `host` may be meant for https: over plain http it is never tried."""
        assert service_names("http://h.example:8080/simple/") == (
            "http://h.example:8080/simple/",
            "http://h.example:8080/simple",
            "http://h.example:8080",
        )

    def test_plain_http_on_loopback_keeps_them(self) -> None:
        """On this machine nothing crosses a network, so pip's netloc entries still work."""
        assert service_names("http://127.0.0.1:8080/simple/")[3:] == ("127.0.0.1:8080", "127.0.0.1")

    def test_query_and_fragment_never_in_a_service_name(self) -> None:
        """A token in the index URL's query is not part of any name (nor logged through one)."""
        names = service_names("https://h.example/simple/?private_token=QSECRET#x")
        assert not any("QSECRET" in n or "#" in n for n in names)
        assert names[:2] == ("https://h.example/simple/", "https://h.example/simple")

    def test_without_port_and_slash(self) -> None:
        """A URL without a trailing slash is tried first as typed, then with one."""
        assert service_names("https://h.example/simple") == (
            "https://h.example/simple",
            "https://h.example/simple/",
            "https://h.example",
            "h.example",
        )

    def test_userinfo_never_in_a_service_name(self) -> None:
        """Credentials in the index URL never become part of a service name."""
        names = service_names("https://u:topsecret@h.example/simple/")
        assert not any("topsecret" in n or "u:" in n for n in names)


class TestEnvName:
    """<NAME> in INDEXAUTH_INDEX_<NAME>_*: upper-case, every other character an underscore."""

    @given(st.text(string.ascii_letters + string.digits + "-_.", min_size=1))
    def test_shape(self, name: str) -> None:
        """The result is upper-case ASCII letters, digits and underscores, same length."""
        out = env_name(name)
        assert len(out) == len(name)
        assert set(out) <= set(string.ascii_uppercase + string.digits + "_")

    def test_examples(self) -> None:
        """uv's examples."""
        assert env_name("internal-proxy") == "INTERNAL_PROXY"
        assert env_name("foo.bar") == "FOO_BAR"


class TestRedact:
    """No password or token survives redaction, whatever the URL's shape."""

    @given(
        st.sampled_from(["http", "https"]),
        st.one_of(st.none(), st.text(string.ascii_letters + "_", min_size=1, max_size=8)),
        secret,
        path,
        st.booleans(),
    )
    def test_encoded_password_never_shown(
        self, scheme: str, user: str | None, password: str, p: str, encode: bool
    ) -> None:
        """user:PASSWORD@, :PASSWORD@ and TOKEN@ never show the secret."""
        raw = password
        for c in "/@" + ("" if user else ":"):  # without a user, a raw ":" starts the password
            raw = raw.replace(c, "")
        token = "SECRET" + (quote(password, safe="") if encode else raw)
        userinfo = f"{user}:{token}" if user else token
        out = redact(f"{scheme}://{userinfo}@h.example:8080{p}?a=1")
        assert "SECRET" not in out
        if user:
            assert out.startswith(f"{scheme}://{user}:****@h.example:8080")

    @given(secret)
    def test_raw_slash_in_password_still_hidden(self, password: str) -> None:
        """A password with a raw / (an invalid URL that people still write) stays hidden."""
        clean = "SECRET" + password.replace("@", "").replace(":", "")
        out = redact(f"https://user:{clean}/x@h.example/simple/")
        assert "SECRET" not in out

    @given(
        st.text(" \t\r\n\x00\x01\x1f", max_size=3),
        st.integers(0, 40),
        st.sampled_from(["\t", "\r", "\n"]),
        st.sampled_from(["https://user:SECRETPW@h.example/simple/", "https://SECRETTOKEN@h.example:99999/x"]),
    )
    @example(" ", 0, "\t", "https://user:SECRETPW@h.example:99999/simple/")
    @example("", 2, "\n", "https://user:SECRETPW@h.example/simple/")
    def test_whitespace_and_control_characters_do_not_unmask(
        self, lead: str, at: int, char: str, url: str
    ) -> None:
        """Python's URL parser strips leading spaces and C0 characters and drops tabs and newlines
        anywhere: a URL pasted with a leading space (` https://user:pw@...` in a variable) or a
        newline in its scheme is still a URL with a password, and its error message must not show it."""
        for value in (lead + url, url[:at] + char + url[at:]):
            out = redact(value)
            assert "SECRET" not in out, (value, out)

    @pytest.mark.parametrize(
        "url",
        ["https://u:/AbSECRET+9@h.example/simple/", "https://AKIA:/wJalrSECRET@h.example/simple",
         "https://:/SECRET@h.example/"],
    )
    def test_password_starting_with_a_slash(self, url: str) -> None:
        """A raw `/` first in a password (base64 secrets have them) makes `user:` look like a host
        with an empty port: the password is masked, and the URL is refused, not taken as host `u`."""
        assert "SECRET" not in redact(url)
        with pytest.raises(UrlError) as caught:
            split_url(url)
        assert "SECRET" not in str(caught.value) and "%-encoding" in str(caught.value)
        with pytest.raises(indexauth.ConfigurationError) as refused:
            indexauth.Index(url)
        assert "SECRET" not in str(refused.value)

    @given(st.sampled_from(["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "token", "sig"]))
    def test_signed_query_values_hidden(self, key: str) -> None:
        """Pre-signed URL parameters are masked, others kept."""
        out = redact(f"https://bucket.example/f.whl?{key}=SECRETVALUE&keep=1")
        assert "SECRETVALUE" not in out and "keep=1" in out

    @given(st.text(max_size=40))
    def test_never_raises(self, value: str) -> None:
        """Redaction accepts any string."""
        redact(value)

    def test_plain_url_unchanged(self) -> None:
        """A URL without secrets, even with @ in its path, comes back as is."""
        url = "https://h.example/+simple/@scope/pkg/?x=1#frag"
        assert redact(url) == url


# Characters around the edges of the checks that replaced regexes compiled at import (issue 15,
# first use): tabs and line breaks, token characters, dots, colons, brackets, non-ASCII.
EDGES = st.text(alphabet=st.sampled_from("aZ09._-+=~:/[]@%\t\r\n \x00\x0b\u00e9\u0663\u017f\u212a"), max_size=12)


@given(EDGES)
def test_string_checks_agree_with_the_patterns_they_replaced(text: str) -> None:
    """Each set or `str` check reads *text* exactly as the regex it replaced did."""
    import re

    from indexauth import _models, _urls

    assert _urls._dropped(text) == re.sub(r"[\t\r\n]", "", text)
    assert _urls._TOKEN_HEAD.issuperset(text) == bool(re.fullmatch(r"[A-Za-z0-9+=_~-]*", text))
    name_ok = bool(text) and _models._NAME_CHARS.issuperset(text)
    assert name_ok == bool(re.compile(r"^[A-Za-z0-9._-]+$").fullmatch(text))
    assert ("\r" in text or "\n" in text) == bool(re.search(r"[\r\n]", text))
    try:
        index: indexauth.Index | None = indexauth.Index("https://h.example/simple/", name=text)
    except indexauth.ConfigurationError:
        index = None
    assert (index is not None) == name_ok
