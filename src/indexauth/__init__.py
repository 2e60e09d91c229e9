"""uv-style authentication for private package indexes, for requests, httpx and pip.

>>> import indexauth
>>> indexauth.Index("https://pkgs.example.com/simple/", name="internal", authenticate="always")
Index('https://pkgs.example.com/simple/', name='internal', authenticate='always')

Importing this package loads only the standard library; the requests adapter
and the httpx transports load their client library on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import (
    Attempt,
    ConfigurationError,
    CredentialsRejectedError,
    ForbiddenError,
    IncompleteCredentialsError,
    IndexAuthError,
    MissingCredentialsError,
    ProviderError,
    UnreplayableRequestError,
)
from ._models import Credentials, Index, Policy
from ._urls import redact
from ._version import __version__

if TYPE_CHECKING:
    from ._httpx import AsyncIndexAuthTransport, IndexAuthTransport, wrap_client
    from ._patch import install, uninstall
    from ._requests import IndexAuthAdapter

__all__ = [
    "AsyncIndexAuthTransport",
    "Attempt",
    "ConfigurationError",
    "Credentials",
    "CredentialsRejectedError",
    "ForbiddenError",
    "IncompleteCredentialsError",
    "Index",
    "IndexAuthAdapter",
    "IndexAuthError",
    "IndexAuthTransport",
    "MissingCredentialsError",
    "Policy",
    "ProviderError",
    "UnreplayableRequestError",
    "__version__",
    "diagnosis",
    "install",
    "redact",
    "uninstall",
    "wrap_client",
]

# Public names that need a client library, and the extra that installs it.
_LAZY = {
    "IndexAuthAdapter": ("indexauth._requests", "requests"),
    "install": ("indexauth._patch", "global"),
    "uninstall": ("indexauth._patch", "global"),
    "IndexAuthTransport": ("indexauth._httpx", "httpx"),
    "AsyncIndexAuthTransport": ("indexauth._httpx", "httpx"),
    "wrap_client": ("indexauth._httpx", "httpx"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, extra = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'indexauth' has no attribute {name!r}") from None
    import importlib  # noqa: PLC0415

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(
            f"indexauth.{name} needs {exc.name or extra}. Make sure you've installed it with: "
            f"pip install 'indexauth[{extra}]'"
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


def diagnosis(response: object) -> IndexAuthError | None:
    """The error indexauth attached to *response* when it returned it instead of raising."""
    error = getattr(response, "indexauth_error", None)
    if error is None:
        extensions = getattr(response, "extensions", None)
        if isinstance(extensions, dict):
            error = extensions.get("indexauth.error")
    return error if isinstance(error, IndexAuthError) else None


for _name in __all__:
    _value = globals().get(_name)
    if isinstance(_value, type) and _value.__module__.startswith("indexauth."):
        _value.__module__ = "indexauth"
del _name, _value
