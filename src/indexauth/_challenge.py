"""Which authentication schemes a `WWW-Authenticate` header offers (RFC 9110, section 11.6.1).

indexauth answers a challenge only with a scheme the server asked for (Basic,
or Bearer for a bearer token), or when there is no header at all (the 403 and
404 of GitLab and Artifactory, GitLab's bare 401). A Digest, Negotiate or other
challenge is left to the caller's own auth handler (requests' `HTTPDigestAuth`,
`httpx.DigestAuth`), which runs above the adapter or transport.

>>> sorted(offered('Digest realm="a, b", qop="auth", Basic realm="x"'))
['basic', 'digest']
>>> offered(None) is None
True
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["header_of", "offered"]

# Strings, compiled by `re` when the first challenge is read: a program whose first
# request is answered without one never pays for compiling them.
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"  # noqa: S105 - a pattern, not a secret
_HEADER = "WWW-Authenticate"


def offered(header: str | None) -> frozenset[str] | None:
    """The lower-cased schemes in *header*, or `None` when there is no usable header.

    A challenge is `scheme [token68 | param=value, ...]`, challenges and params
    both separated by commas: an element that starts with a token not followed
    by `=` starts a challenge. A header with no scheme in it reads as no header.
    """
    if not header:
        return None
    schemes = set()
    token = re.compile(_TOKEN)
    for raw in re.sub(_QUOTED, '""', header).split(","):
        element = raw.strip()
        match = token.match(element)
        if match is None:
            continue
        if element[match.end() :].lstrip().startswith("="):
            continue  # `param=value`: a parameter of the challenge before it
        schemes.add(match.group().lower())
    return frozenset(schemes) or None


def header_of(headers: Any) -> str | None:
    """Every `WWW-Authenticate` value of a response's *headers*, joined by `, `.

    requests and httpx join repeated headers themselves; the standard
    library's `HTTPMessage` needs `get_all`.
    """
    get_all = getattr(headers, "get_all", None)
    if callable(get_all):
        values = get_all(_HEADER) or []
        return ", ".join(values) if values else None
    value = headers.get(_HEADER)
    return str(value) if value is not None else None
