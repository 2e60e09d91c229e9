"""An in-memory keyring backend for the benchmarks that counts its lookups.

Entries come from BENCH_KEYRING (JSON: {service: {username: password}}); each
lookup waits BENCH_KEYRING_DELAY seconds, as a real backend (D-Bus, a vault,
a cloud token exchange) takes time. It answers username-less lookups.
"""

from __future__ import annotations

import json
import os
import threading
import time

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential

CALLS = {"n": 0}
_LOCK = threading.Lock()


def _entries() -> dict[str, dict[str, str]]:
    return json.loads(os.environ.get("BENCH_KEYRING", "{}"))


def _count() -> None:
    with _LOCK:
        CALLS["n"] += 1
    time.sleep(float(os.environ.get("BENCH_KEYRING_DELAY", "0")))


class MemoryKeyring(KeyringBackend):
    """Entries from the environment, every lookup counted."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        _count()
        return _entries().get(service, {}).get(username)

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        _count()
        entries = _entries().get(service, {})
        if username is not None:
            password = entries.get(username)
            return SimpleCredential(username, password) if password is not None else None
        for user, password in entries.items():
            return SimpleCredential(user, password)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError("read-only benchmark backend")

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError("read-only benchmark backend")
