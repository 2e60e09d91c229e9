"""A keyring backend that makes an HTTP request during a lookup, as artifacts-keyring does."""

from __future__ import annotations

import os
from pathlib import Path

import requests
from keyring.credentials import SimpleCredential

from kr_backends import JsonFileKeyring


class ProbingKeyring(JsonFileKeyring):
    """Requests `INDEXAUTH_TEST_PROBE` anonymously, records the status, then answers."""

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        status = requests.get(os.environ["INDEXAUTH_TEST_PROBE"], timeout=30).status_code
        probes = Path(os.environ["INDEXAUTH_TEST_KEYRING"] + ".probes")
        with probes.open("a", encoding="utf-8") as file:
            file.write(f"{status}\n")
        return super().get_credential(service, username)
