"""URL rules: realms, index roots, path matching, keyring service names, redaction.

Every rule about URLs lives here so that the flow, the errors and the command
line agree on them. Nothing here does I/O.

>>> realm_of("https://H.example:443/simple/")
Realm(scheme='https', host='h.example', port=443)
>>> root_path("/api/pypi/x/simple/")
'/api/pypi/x'
>>> is_path_prefix("/simple", "/simpleevil")
False
>>> redact("https://alice:s3cret@h.example/simple/")
'https://alice:****@h.example/simple/'
>>> redact("https://glpat-Zx81:@h.example/simple/")
'https://****@h.example/simple/'
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = [
    "CONVENTIONAL_USERNAMES",
    "Realm",
    "UrlError",
    "effective_path",
    "is_path_prefix",
    "realm_of",
    "redact",
    "root_path",
    "service_names",
    "shown_username",
    "split_url",
    "token_cut_by_slash",
    "username_may_be_token",
    "wire_host",
]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that carry a signature or a token on pre-signed URLs (S3,
# CloudFront, GCS, Azure SAS); their values are replaced like a password.
_SECRET_QUERY_KEYS = frozenset(
    {
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "x-goog-credential",
        "x-goog-signature",
        "signature",
        "sig",
        "token",
        "access_token",
        "private_token",
        "job_token",
    }
)
# User names that services document as fixed words in front of a token: not secrets.
CONVENTIONAL_USERNAMES = frozenset(
    {"__token__", "oauth2accesstoken", "aws", "VssSessionToken", "gitlab-ci-token"}
)
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(//)?")
_LEADING = "".join(map(chr, range(33)))  # what urllib.parse strips before a URL
# An authority with no colon, or a colon followed by digits only (a port).
_PORT_RE = r"^(\[[^\]]*\]|[^:]*)(:\d*)?$"
# What the parser takes for a host when a raw "/" in a lone token cut it short
# (`https://ab/cd@host/`): token characters only, with no dot, colon or bracket, so
# never a domain name, an IP address or a port.
_TOKEN_HEAD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=_~-")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """*pattern* compiled on first use: the patterns of rare paths are kept as strings, since
    compiling one costs about as much as importing a small module and most programs never
    need them (issue 15, first use)."""
    return re.compile(pattern)


def _dropped(url: str) -> str:
    """*url* without tabs and line breaks, which urllib.parse removes anywhere in a URL."""
    return url.replace("\t", "").replace("\r", "").replace("\n", "")


class UrlError(ValueError):
    """The URL cannot be used as an http(s) index or request URL."""


class Realm(NamedTuple):
    """Where credentials may go: scheme, lower-cased host and effective port."""

    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        """`host[:port]`, the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if DEFAULT_PORTS.get(self.scheme) == self.port:
            return host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def username_may_be_token(username: str, password: str | None) -> bool:
    """Whether *username* (decoded) may be a secret: it came without a password, or an empty one.

    pip and uv read `https://TOKEN@host/` and `https://TOKEN:@host/` as a token
    in the user part, so such a user part is never shown, unless it is one of
    the conventional words services put in front of a token (`__token__`,
    `oauth2accesstoken`, `aws`, `VssSessionToken`, `gitlab-ci-token`).

    >>> username_may_be_token("glpat-Zx81", None), username_may_be_token("__token__", "")
    (True, False)
    >>> username_may_be_token("alice", "s3cret")
    False
    """
    return bool(username) and not password and username not in CONVENTIONAL_USERNAMES


def shown_username(username: str | None, password: str | None) -> str | None:
    """*username* as messages may show it: `'****'` when it may be a token."""
    if username is not None and username_may_be_token(username, password):
        return "****"
    return username


def split_url(url: str) -> SplitResult:
    """Split an http(s) URL, or raise `UrlError` saying what is wrong with it."""
    if not isinstance(url, str):
        raise UrlError(f"expected a URL string, got {type(url).__name__}")
    if any(c in url for c in "\r\n\t\x00"):
        raise UrlError(f"URL {redact(url)!r} contains a control character")
    if token_cut_by_slash(url):
        raise UrlError(
            f"URL {redact(url)!r} cannot be parsed: the part before '@' (a token?) contains "
            "a raw '/', so its start would be read as the host and the rest as the path: "
            "percent-encode each '/' in the token as %2F (and an '@' that belongs to the path "
            "as %40)"
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        # urllib's own message quotes the text it read as a port: a password, often.
        raise UrlError(
            f"URL {redact(url)!r} cannot be parsed: its port is not a number from 0 to 65535, "
            "or a character in the password needs %-encoding"
        ) from None
    if parts.netloc.endswith(":") and "@" in parts.path:
        # "https://u:/pass@host/": urllib reads host "u", an empty port and a path.
        raise UrlError(
            f"URL {redact(url)!r} cannot be parsed: a '/' at the start of the password needs "
            "%-encoding (%2F)"
        )
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise UrlError(f"URL {redact(url)!r} must start with http:// or https://")
    if not parts.hostname:
        raise UrlError(f"URL {redact(url)!r} has no host")
    del port
    return parts


def realm_of(url: str | SplitResult) -> Realm:
    """The realm of *url*; raises `UrlError` for anything but http(s) with a host."""
    parts = split_url(url) if isinstance(url, str) else url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port is not None else DEFAULT_PORTS[scheme]
    return Realm(scheme, host, port)


def wire_host(host: str) -> str | None:
    """*host* as requests, pip and httpx send it, if it is not ASCII: its IDNA name, else `None`.

    They encode a Unicode host name with the `idna` package (IDNA 2008, UTS 46
    mapping), so an index configured as `https://bücher.example/` is asked at
    `xn--bcher-kva.example`. `None` too for a name IDNA refuses, and when no
    `idna` (nor pip's copy) is importable: Python's own codec follows IDNA 2003,
    which reads `straße` as `strasse`, another host.
    """
    if host.isascii():
        return None
    import importlib  # noqa: PLC0415 - only for an index with a Unicode host name

    for name in ("idna", "pip._vendor.idna"):
        try:
            idna = importlib.import_module(name)
        except ImportError:
            continue
        try:
            encoded: bytes = idna.encode(host, uts46=True)
        except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
            return None
        return encoded.decode("ascii").lower()
    return None


def root_path(path: str) -> str:
    """The index root of *path*: without a final `simple`/`+simple` segment and trailing `/`.

    >>> root_path("/alice/dev/+simple")
    '/alice/dev'
    >>> root_path("/simple/")
    ''
    >>> root_path("/pypi/")
    '/pypi'
    """
    stripped = path.rstrip("/")
    head, _, last = stripped.rpartition("/")
    if last.lower() in ("simple", "+simple"):
        stripped = head
    return stripped.rstrip("/")


def is_path_prefix(root: str, path: str) -> bool:
    """Whether *root* (no trailing `/`) covers *path` in whole segments.

    >>> is_path_prefix("/simple", "/simple/anyio/")
    True
    >>> is_path_prefix("", "/anything")
    True
    """
    return not root or path == root or path.startswith(root + "/")


_ENCODED_DOT = r"(?i)%2e"
# A dot, separator or `;` encoded twice: a proxy that decodes once hands its backend `%2e`.
_ENCODED_TWICE = r"(?i)%25(?:2e|2f|5c|3b)"


def effective_path(path: str) -> str | None:
    """The path a server that removes dot segments serves for *path*, or `None` when unclear.

    Credentials are matched on this path, so `/a/simple/%2e%2e/%2e%2e/b/` is
    `/b/`, not a path under `/a`: RFC 3986 dot-segment removal, with `%2e` read
    as `.`. Any other segment that some server could read as `.` or `..` makes
    the answer `None` (send no credentials): a dot segment in disguise. A server
    may decode a segment again and again (`%252e`), read `%uXXXX` (IIS),
    overlong UTF-8 (`%c0%ae`) or Unicode compatibility forms (`%ef%bc%8e`, a
    full-width dot), drop the bytes it cannot decode as UTF-8 (`..%ff`, `%c0..`,
    `..%25ff`), drop NUL, control and space characters or stop at a NUL
    (`..%00`), cut `;params` (`..;`, `..%3b`: Tomcat) or, behind a proxy that
    decodes once, a query or fragment (`..%3f`, `..%23`), or split on `\\`, `%5c`
    or `%2f` (`..%2f..`). The same `None` for a plain dot segment next to a segment
    that another reading splits or empties, or an empty segment (`//`), which some
    servers merge. Other names with dots (`a..b`, `.well-known`, `...`,
    `pkg-1.0.tar.gz`) are ordinary segments.

    >>> effective_path("/a/simple/%2e%2e/%2E./b/x.whl")
    '/b/x.whl'
    >>> effective_path("/a/simple/pkg/") == "/a/simple/pkg/"
    True
    >>> [effective_path(f"/a/simple/{s}/b/") for s in ("..%2f..", "..%00", "%c0%ae%c0%ae", "..%ff")]
    [None, None, None, None]
    >>> effective_path("/a/.well-known/a..b/pkg-1.0.tar.gz")
    '/a/.well-known/a..b/pkg-1.0.tar.gz'
    """
    if (
        "/." not in path
        and "%" not in path
        and "\\" not in path
        and path.isascii()
        and ("." not in path or (" " not in path and path.isprintable()))
    ):
        # No dot segment can hide here: the common case costs five scans. A control or
        # space written out is `%XX` on the wire, which some servers drop (` ..` is `..`).
        return path
    if _compiled(_ENCODED_TWICE).search(path):
        return None
    encoded_dot, may_hide = _compiled(_ENCODED_DOT), _compiled(_MAY_HIDE)
    dots = False  # a plain dot segment (`.`, `..`, `%2e`), which RFC 3986 removal handles
    reshaped = False  # a segment that some server splits in two, or reads as empty
    for raw in path.split("/"):
        if encoded_dot.sub(".", raw) in (".", ".."):
            dots = True
            continue
        if not raw or (raw.isascii() and not may_hide.search(raw)):
            continue  # nothing in it decodes, and it holds no dot: an ordinary name
        readings = _readings(raw)
        if readings is None or any(_is_dot_like(piece) for pieces in readings for piece in pieces):
            return None
        reshaped = reshaped or any(len(pieces) != 1 or not _kept(pieces[0]) for pieces in readings)
    if not dots:
        return path  # nothing can climb out of the root
    if reshaped or "//" in path:
        return None  # `a//..` is `a/` to RFC 3986, `/` to a server that merges slashes
    return _remove_dot_segments(encoded_dot.sub(".", path))


# A segment holding none of these reads the same to every server, and has no dot.
# Controls and spaces count: some servers drop them, so ` ` alone is an empty segment.
_MAY_HIDE = r"[%.\\;\x00-\x20\x7f]"
_PERCENT_RUN = r"(?:%[0-9A-Fa-f]{2})+"
_PERCENT_U = r"%[uU]([0-9A-Fa-f]{4})"
_DECODING_ROUNDS = 6  # `%25` nested deeper than this is refused, not read
_MAX_READINGS = 64  # decodings that differ at every round: refused, not read
# Characters servers and file systems drop from a name: controls, format characters
# (zero-width, BOM, soft hyphen) and spaces (Windows trims trailing ones).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def _readings(segment: str) -> list[list[str]] | None:
    """Every text some server may make of *segment*, each split on `/` and `\\`.

    A server may decode once, or again and again, each time in its own way
    (`_decodings`): all of them, and *segment* itself. `None` when the decodings
    still change after `_DECODING_ROUNDS` rounds, or are too many to read.
    """
    seen, texts = {segment}, {segment}
    for _ in range(_DECODING_ROUNDS):
        texts = {decoded for text in texts for decoded in _decodings(text)} - seen
        if not texts:
            return [text.replace("\\", "/").split("/") for text in seen]
        seen |= texts
        if len(seen) > _MAX_READINGS:
            return None
    return None


def _decodings(text: str) -> set[str]:
    """*text* decoded once by each kind of server: `%uXXXX` and `%XX`, then NFKC.

    The bytes are read as UTF-8 by the loosest decoder (`_loose_utf8`), by a strict
    one that drops what it cannot decode (Python's `errors="ignore"`: `..%ff` is
    `..`), and by one that drops each undecodable sequence with the bytes its lead
    byte announces (`..%c0.` is `..`). Latin-1 needs no reading of its own: it
    makes dots of a segment only when its other bytes are controls or spaces
    (`%85`, `%a0`), none a lead byte, and `_loose_utf8` reads those the same.
    """
    import unicodedata  # noqa: PLC0415 - only for the rare path with escapes in it

    text = _compiled(_PERCENT_U).sub(lambda m: chr(int(m.group(1), 16)), text)
    if "%" not in text:
        return {unicodedata.normalize("NFKC", text)}
    data = _percent_bytes(text)
    readings = (_loose_utf8(data), data.decode("utf-8", "ignore"), _loose_utf8(data, drop=True))
    return {unicodedata.normalize("NFKC", reading) for reading in readings}


def _percent_bytes(text: str) -> bytes:
    """*text* with its `%XX` escapes decoded into bytes, the rest encoded as UTF-8.

    Whole, not escape by escape: `%c0.` is `.` to a decoder that takes the low bits.
    """
    data, start = bytearray(), 0
    for match in _compiled(_PERCENT_RUN).finditer(text):
        data += text[start : match.start()].encode("utf-8", "surrogatepass")
        data += bytes.fromhex(match[0].replace("%", ""))
        start = match.end()
    data += text[start:].encode("utf-8", "surrogatepass")
    return bytes(data)


def _loose_utf8(data: bytes, *, drop: bool = False) -> str:
    """*data* read as UTF-8 by the most forgiving decoder: overlong forms, any continuation.

    `\\xc0\\xae`, `\\xc0\\x2e` and `\\xe0\\x80\\xae` are all `.` to a decoder that
    takes the low bits of each byte without checking them; valid UTF-8 reads as usual.
    With *drop*, each sequence that is not valid UTF-8 reads as nothing instead.
    """
    out: list[str] = []
    i, size = 0, len(data)
    while i < size:
        lead = data[i]
        # Continuation bytes a lead byte announces: 0xC0 one, 0xE0 two, ... 0xFC five (old forms).
        more = next((n for n, top in enumerate((0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE)) if lead < top), 0)
        if lead >= 0xFE or i + more >= size:
            more = 0
        unit = data[i : i + 1 + more]
        i += 1 + more
        if drop and lead >= 0x80 and not _valid_utf8(unit):
            continue
        if more == 0:
            out.append(chr(lead))
            continue
        value = lead & (0x7F >> (more + 1))
        for byte in unit[1:]:
            value = (value << 6) | (byte & 0x3F)
        out.append(chr(value) if value <= 0x10FFFF else "\ufffd")
    return "".join(out)


def _valid_utf8(unit: bytes) -> bool:
    try:
        unit.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_dot_like(piece: str) -> bool:
    """Whether some server reads *piece* as `.` or `..`."""
    # C code stops at a NUL; Tomcat cuts `;params`; Windows cuts `:stream` (`..::$DATA`);
    # a backend handed a path a proxy decoded once ends it at `?` or `#` (`..%3f`).
    for reading in (piece, piece.partition("\x00")[0]):
        for mark in _CUTS:
            if _kept(reading.partition(mark)[0]) in (".", ".."):
                return True
    return False


_CUTS = (";", ":", "?", "#")


def _kept(name: str) -> str:
    """*name* without the characters servers and file systems drop from names."""
    import unicodedata  # noqa: PLC0415

    return "".join(c for c in name if unicodedata.category(c) not in _DROPPED_CATEGORIES)


def _is_dot(segment: str) -> bool:
    return segment in (".", "..")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path."""
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments and _is_dot(segments[-1]):
        out.append("")  # `/a/b/..` is `/a/`: the directory, with its slash
    return "/" + "/".join(out)


def _toggle_slash(url: str) -> str:
    return url[:-1] if url.endswith("/") else url + "/"


def is_loopback(host: str) -> bool:
    """Whether *host* is this machine: nothing sent there crosses a network.

    >>> [is_loopback(h) for h in ("localhost", "a.localhost", "127.0.0.2", "::1", "127.example")]
    [True, True, True, True, False]
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_names(url: str) -> tuple[str, ...]:
    """Keyring service names for an index URL, in the order they are tried.

    The URL as given (without userinfo, query or fragment), the same with its
    trailing slash toggled (pip writes one, uv keeps what you typed),
    `scheme://host[:port]`, `host[:port]`, and bare `host` when the URL names
    a port. The scheme-less names cannot tell http from https, so for plain
    http they are tried only on loopback: an entry made for an https index is
    never sent in clear.

    >>> for name in service_names("https://h.example:8443/simple/"):
    ...     print(name)
    https://h.example:8443/simple/
    https://h.example:8443/simple
    https://h.example:8443
    h.example:8443
    h.example
    >>> service_names("http://h.example/simple/")
    ('http://h.example/simple/', 'http://h.example/simple', 'http://h.example')
    """
    parts = split_url(url)
    realm = realm_of(parts)
    names = []
    if parts.path not in ("", "/"):
        clean = strip_userinfo(url).split("#", 1)[0].split("?", 1)[0]
        names += [clean, _toggle_slash(clean)]
    names.append(str(realm))
    if realm.scheme == "https" or is_loopback(realm.host):
        names.append(realm.netloc)
        if parts.port is not None:
            names.append(f"[{realm.host}]" if ":" in realm.host else realm.host)
    return tuple(dict.fromkeys(names))


def strip_userinfo(url: str) -> str:
    """*url* without `user:password@`; everything else exactly as given."""
    match = _SCHEME_RE.match(url)
    if not match or not match.group(2):
        return url
    start = match.end()
    end = _authority_end(url, start)
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    return url[:start] + url[at + 1 :]


def _authority_end(url: str, start: int) -> int:
    ends = [i for i in (url.find(c, start) for c in "/?#") if i >= 0]
    return min(ends) if ends else len(url)


def token_cut_by_slash(url: str) -> bool:
    """Whether *url* reads as a lone user part that a raw `/` cut short.

    `https://ab/cd@h.example/simple/` is host `ab` and path `/cd@h.example/...` to
    every URL parser, but a token `ab/cd` to the person who wrote it. What the
    parser calls the host has no dot, colon or bracket, and an `@` follows in
    the path: such a URL is refused (`split_url`) and masked (`redact`).

    >>> token_cut_by_slash("https://ab/cd@h.example/simple/")
    True
    >>> [token_cut_by_slash(u) for u in ("https://h.example/a@b/", "http://localhost/a@b")]
    [False, False]
    """
    if not isinstance(url, str):
        return False
    url = _dropped(url.lstrip(_LEADING))
    match = _SCHEME_RE.match(url)
    if not match or not match.group(2):
        return False
    start = match.end()
    slash = url.find("/", start)
    return slash >= 0 and _slash_cut_at(url, start, slash) >= 0


def _slash_cut_at(url: str, start: int, end: int) -> int:
    """The `@` ending a lone user part that a raw `/` at *end* cut short, or -1."""
    authority = url[start:end]
    if not _TOKEN_HEAD.issuperset(authority) or authority.lower() == "localhost":
        return -1
    stops = [i for i in (url.find("?", end), url.find("#", end)) if i >= 0]
    return url.find("@", end, min(stops, default=len(url)))


def redact(url: str) -> str:
    """*url* safe to print: `user:****@host`, `****@host`, `:****@host`; signed query values hidden.

    A user part without a password, or with an empty one, may be a token and
    is masked whole; only a conventional user name (see
    `username_may_be_token`) stays visible. It never raises; a value that is
    not a URL comes back with anything userinfo-shaped masked.

    >>> redact("https://TOKEN@h.example/simple/?X-Amz-Signature=abc&x=1")
    'https://****@h.example/simple/?X-Amz-Signature=****&x=1'
    >>> redact("https://__token__@h.example/simple/")
    'https://__token__@h.example/simple/'
    """
    if not isinstance(url, str):
        return "<not a URL>"
    # Read the URL as Python's parser does (leading spaces and C0 characters stripped,
    # tabs and newlines dropped), or ` https://u:pw@h/` would show its password.
    url = _dropped(url.lstrip(_LEADING))
    match = _SCHEME_RE.match(url)
    if match and match.group(2):
        start = match.end()
    else:
        sep = url.find("://")  # a scheme the parser refuses still marks where userinfo starts
        start = sep + 3 if sep >= 0 else 0
    # Userinfo ends at the last "@" before the first "/" of the path. A raw "?"
    # or "#" in a password does not end it here (over-masking a strange query
    # is harmless; printing half a password is not).
    slash = url.find("/", start)
    end = slash if slash >= 0 else len(url)
    at = url.rfind("@", start, end)
    authority = url[start:end]
    if at < 0 and "@" in url[end:] and (not _compiled(_PORT_RE).search(authority) or authority.endswith(":")):
        # "https://u:pa/ss@host/": a raw "/" cut the authority short, and what
        # follows its ":" is no port, so it is a password; "https://u:/pass@host/"
        # too (an empty port), which base64 secrets beginning with "/" produce.
        at = url.find("@", end)
    if at < 0 and slash >= 0:
        # "https://ab/cd@host/": a lone token with a raw "/", which cut the authority short.
        at = _slash_cut_at(url, start, end)
    head = url
    if at >= 0:
        userinfo = url[start:at]
        user, colon, password = userinfo.partition(":")
        if not user:
            masked = ":****" if colon else "****"
        elif password or unquote(user) in CONVENTIONAL_USERNAMES:
            masked = f"{user}:****" if colon else user
        else:
            masked = "****"  # the user part may be the token itself
        head = url[:start] + masked + url[at:]
        end = start + len(masked) + 1
    query_at = min(
        (i for i in (head.find("?", end), head.find("#", end)) if i >= 0), default=-1
    )
    if query_at < 0:
        return head
    return head[:query_at] + _redact_query(head[query_at:])


def _redact_query(tail: str) -> str:
    if not tail.startswith("?"):
        return tail
    query, hash_, fragment = tail[1:].partition("#")
    pairs = []
    for pair in query.split("&"):
        key, eq, _value = pair.partition("=")
        pairs.append(f"{key}=****" if eq and key.lower() in _SECRET_QUERY_KEYS else pair)
    return "?" + "&".join(pairs) + hash_ + fragment
