"""Keyring backends for the tests, chosen through keyring's own configuration.

`JsonFileKeyring` keeps its entries in the JSON file named by
`INDEXAUTH_TEST_KEYRING` and appends one line per lookup to that file plus
`.log`, so a test counts lookups made in this process or by a `keyring`
command in another. Unlike keyrings.alt's plaintext backend, it answers
username-less lookups, as SecretService and Windows do.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential
from keyring.errors import KeyringLocked, PasswordDeleteError


def _path() -> Path:
    return Path(os.environ["INDEXAUTH_TEST_KEYRING"])


def _load() -> dict[str, dict[str, str]]:
    path = _path()
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _log(service: str, username: str | None) -> None:
    with open(str(_path()) + ".log", "a", encoding="utf-8") as log:
        log.write(json.dumps([service, username, os.getpid()]) + "\n")


class JsonFileKeyring(KeyringBackend):
    """Entries in a JSON file; username-less lookups return the first entry."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        _log(service, username)
        return _load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = _load()
        data.setdefault(service, {})[username] = password
        _path().write_text(json.dumps(data), "utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = _load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("not found")
        del data[service][username]
        _path().write_text(json.dumps(data), "utf-8")

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        _log(service, username)
        entries = _load().get(service, {})
        if username is not None:
            password = entries.get(username)
            return SimpleCredential(username, password) if password is not None else None
        for user, password in entries.items():
            return SimpleCredential(user, password)
        return None


class SlowJsonFileKeyring(JsonFileKeyring):
    """The same, taking 0.2 s per lookup, to make concurrent callers overlap."""

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        time.sleep(0.2)
        return super().get_credential(service, username)


class HangingJsonFileKeyring(JsonFileKeyring):
    """A keyring that never answers, like one waiting for an unlock prompt nobody sees."""

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        time.sleep(120)
        return None


class LockedKeyring(KeyringBackend):
    """A keyring that is locked, as SecretService is on a headless machine."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        raise KeyringLocked("Failed to unlock the collection!")


class BrokenKeyring(LockedKeyring):
    """A keyring whose backend raises something unexpected."""

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        raise RuntimeError("D-Bus connection refused")
