"""The resolver's rules: order, first username kept, broken sources, single flight, forgetting."""

from __future__ import annotations

import threading
from pathlib import Path

import indexauth
from indexauth._resolver import Resolver
from indexauth._sources import EnvSource, IndexUrlSource, NetrcSource, Recorder, SourceFailure, Target

INDEX = indexauth.Index("https://pkgs.example.com/simple/", name="corp")
TARGET = Target(INDEX, INDEX.realm)


class Exploding:
    """A source with a bug in it: it raises something that is not a SourceFailure."""

    name = "exploding"
    eager = False

    def find(self, target: Target, username: str | None, record: Recorder) -> indexauth.Credentials | None:
        raise KeyError("surprise")


class Counting:
    """A slow source that counts how often it is asked."""

    name = "counting"
    eager = False

    def __init__(self, creds: indexauth.Credentials | None) -> None:
        self.calls = 0
        self.creds = creds
        self.gate = threading.Event()

    def find(self, target: Target, username: str | None, record: Recorder) -> indexauth.Credentials | None:
        self.calls += 1
        self.gate.wait(5)
        record(self.name, "", username, "found" if self.creds else "not found")
        return self.creds


def test_unexpected_exception_is_a_recorded_failure_and_later_sources_still_win() -> None:
    """A bug in one source is a failure in the attempts, and the chain goes on."""
    env = EnvSource({"INDEXAUTH_INDEX_CORP_USERNAME": "u", "INDEXAUTH_INDEX_CORP_PASSWORD": "p"})
    result = Resolver([Exploding(), env]).lookup(TARGET)
    assert result.credentials == indexauth.Credentials("u", "p")
    missing = Resolver([Exploding()]).lookup(TARGET)
    assert missing.credentials is None
    assert "failed unexpectedly: KeyError" in missing.failures[0].message
    assert missing.attempts[-1].source == "exploding" and missing.attempts[-1].outcome.startswith("failed")


def test_first_username_is_kept_for_later_sources() -> None:
    """A username from the environment is what later sources are asked about."""
    seen: list[str | None] = []

    class Spy(Counting):
        def find(self, target: Target, username: str | None, record: Recorder) -> indexauth.Credentials | None:
            seen.append(username)
            return indexauth.Credentials(username or "", "pw")

    env = EnvSource({"INDEXAUTH_INDEX_CORP_USERNAME": "aws"})
    result = Resolver([IndexUrlSource(), env, Spy(None)]).lookup(TARGET)
    assert seen == ["aws"]
    assert result.credentials == indexauth.Credentials("aws", "pw")


def test_single_flight_and_miss_remembered() -> None:
    """Twenty threads asking at once run the source once; a later ask is answered from memory."""
    source = Counting(None)
    resolver = Resolver([source])
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolver.lookup(TARGET))) for _ in range(20)]
    for t in threads:
        t.start()
    source.gate.set()
    for t in threads:
        t.join()
    resolver.lookup(TARGET)
    assert source.calls == 1 and resolver.lookups == 1
    assert len(results) == 20 and all(r.credentials is None for r in results)


def test_rejected_credentials_are_forgotten() -> None:
    """After rejected(), the next lookup asks the sources again."""
    creds = indexauth.Credentials("u", "old")
    source = Counting(creds)
    source.gate.set()
    resolver = Resolver([source])
    assert resolver.lookup(TARGET).credentials == creds
    resolver.rejected(TARGET, creds)
    resolver.lookup(TARGET)
    assert source.calls == 2


def test_failure_kind_is_kept() -> None:
    """A SourceFailure's error class travels with it (ConfigurationError for a bad variable)."""
    env = EnvSource({"INDEXAUTH_INDEX_CORP_PASSWORD": "a\nb"})
    result = Resolver([env]).lookup(TARGET)
    assert isinstance(result.failures[0], SourceFailure)
    assert result.failures[0].error_class is indexauth.ConfigurationError


def test_netrc_goes_up_front_over_https_only(tmp_path: Path) -> None:
    """netrc is sent before the first request to an https index, as pip does; over plain http it
    waits for a challenge, so a server that asks for Digest never sees it in Basic form."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine pkgs.example.com login alice password wonder-land\n", "utf-8")
    netrc.chmod(0o600)
    secure = Resolver([NetrcSource(netrc)]).known(TARGET)
    assert secure is not None and secure[0] == indexauth.Credentials("alice", "wonder-land")
    plain = indexauth.Index("http://pkgs.example.com/simple/", name="corp")
    assert Resolver([NetrcSource(netrc)]).known(Target(plain, plain.realm)) is None
    assert Resolver([NetrcSource(netrc)]).lookup(Target(plain, plain.realm)).credentials is not None
