"""The public surface: the names users and examples rely on, and that each one resolves."""

from __future__ import annotations

import pytest

import indexauth

PUBLIC = {
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
}


def test_all_is_pinned() -> None:
    """__all__ changes only on purpose, and dir() shows exactly it."""
    assert set(indexauth.__all__) == PUBLIC
    assert set(dir(indexauth)) == PUBLIC


def test_every_public_name_resolves() -> None:
    """Lazy names load their module on first use."""
    for name in PUBLIC:
        assert getattr(indexauth, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    """A typo is an AttributeError naming the attribute."""
    with pytest.raises(AttributeError, match="IndexAuthAdaptor"):
        _ = indexauth.IndexAuthAdaptor
