"""A keyring backend for the CLI tests: one that never answers, like a keyring waiting for an
unlock prompt nobody will see. Chosen through PYTHON_KEYRING_BACKEND in a subprocess only, so the
sleeping thread ends with that process."""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential


class HangingKeyring(KeyringBackend):
    """Every call blocks until the process exits."""

    priority = 1  # type: ignore[assignment,unused-ignore]

    def _wait(self) -> None:
        threading.Event().wait()

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()

    def delete_password(self, service: str, username: str) -> None:
        self._wait()

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        self._wait()
        return None
