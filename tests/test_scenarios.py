"""One table of behaviours, run over every driver (requests, httpx, httpx2, sync and async).

Each row configures indexes, credentials and the server, makes one or more
requests, and states what the client returns and what the server saw: the
Basic username of every request that reached it, `None` for anonymous ones.
A behaviour that differs between drivers fails here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import indexauth
from conftest import KeyringStore, StandIn
from drivers import DRIVERS, Call, Result
from index_server import DIGEST_CHALLENGE, IndexServer
from indexauth._config import build_authenticator
from indexauth._store import Store

ALICE = {"alice": "wonder-land"}


@dataclass
class Scenario:
    """One row: configuration, requests, and what must happen."""

    id: str
    routes: list[dict[str, Any]]
    indexes: list[dict[str, Any]]
    paths: list[str]
    expect: list[int | type[Exception]]  # per request: a status or an error class
    seen: list[str | None]  # Basic usernames the server saw, None for anonymous
    env: dict[str, str] = field(default_factory=dict)
    keyring: dict[tuple[str, str], str] = field(default_factory=dict)
    netrc: str | None = None
    store: dict[tuple[str, str], str] = field(default_factory=dict)  # indexauth's own store
    uv_store: dict[tuple[str, str], str] = field(default_factory=dict)  # by `uv auth login`
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    lookups: int | None = None  # keyring backend calls, when it matters
    # Stand-in programs on PATH (tests/standin.py): name -> {"tokens": [...], "helper": (header,
    # template, expires), "fail": stderr}; `runs` is how often each must have run in total.
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    header: str | None = None  # compare `seen` with this header's values instead of Basic users
    clock_jump: tuple[int, float] | None = None  # after N requests seen, the clock is T0 + seconds
    message: str | None = None  # in the error of the last request
    absent: str | None = None  # never in any error or diagnosis


T0 = 1893456000.0  # 2030-01-01T00:00:00Z: the injected clock's start; helpers expire after it


PRIVATE = {"prefix": "/private/", "users": ALICE}
BLOCKED = {"prefix": "/private/simple/blocked/", "status": 403}  # a package a policy blocks
SCENARIOS = [
    Scenario(
        "auto-public-index-no-lookup",
        [{"prefix": "/simple/"}],
        [{"url": "{base}/simple/"}],
        ["/simple/pkg/"],
        [200],
        [None],
        lookups=0,
    ),
    Scenario(
        "auto-401-keyring-index-url",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "auto-one-challenge-per-index-not-per-package",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/a/", "/private/simple/b/", "/private/files/b-1.0.whl"],
        [200, 200, 200],
        [None, "alice", "alice", "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=1,
    ),
    Scenario(
        "keyring-entry-without-trailing-slash-pip-or-uv-form",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple", "alice"): "wonder-land"},
    ),
    Scenario(
        "keyring-entry-under-host-port-pip-netloc-form",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{netloc}", "alice"): "wonder-land"},
    ),
    Scenario(
        "keyring-with-configured-username",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "username": "alice"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land", ("{base}/private/simple/", "bob"): "x"},
    ),
    Scenario(
        "auto-401-nothing-found-missing",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/pkg/"],
        [indexauth.MissingCredentialsError],
        [None],
    ),
    Scenario(
        "auto-401-nothing-found-missing-once-remembered",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/a/", "/private/simple/b/"],
        [indexauth.MissingCredentialsError, indexauth.MissingCredentialsError],
        [None, None],
        keyring={("elsewhere", "x"): "y"},
        lookups=5,  # the five service names, once: the miss is remembered
    ),
    Scenario(
        "always-nothing-found-nothing-sent",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "authenticate": "always"}],
        ["/private/simple/pkg/"],
        [indexauth.MissingCredentialsError],
        [],
    ),
    Scenario(
        "always-keyring-no-anonymous-request",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "authenticate": "always"}],
        ["/private/simple/a/", "/private/files/a.whl"],
        [200, 200],
        ["alice", "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "env-credentials-sent-up-front",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "uv-env-credentials",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "name": "my-index"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        env={"UV_INDEX_MY_INDEX_USERNAME": "alice", "UV_INDEX_MY_INDEX_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "url-userinfo-sent-up-front",
        [PRIVATE],
        [{"url": "http://alice:wonder-land@{netloc}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
    ),
    Scenario(
        # netrc goes up front only over https (tests/test_resolver.py); over plain http it
        # waits for a Basic challenge, so a Digest server never sees it (issue 9.7).
        "netrc-over-plain-http-waits-for-a-challenge-then-up-front",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/", "/private/simple/other/"],
        [200, 200],
        [None, "alice", "alice"],
        netrc="machine 127.0.0.1 login alice password wonder-land\n",
        lookups=0,
    ),
    Scenario(
        "netrc-on-challenge-for-a-url-of-no-configured-index",
        [PRIVATE],
        [],
        ["/private/x"],
        [200],
        [None, "alice"],
        netrc="machine 127.0.0.1 login alice password wonder-land\n",
    ),
    Scenario(
        "netrc-refused-is-rejected",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [indexauth.CredentialsRejectedError],
        [None, "alice"],
        netrc="machine 127.0.0.1 login alice password wrong\n",
    ),
    Scenario(
        "store-sent-up-front-to-a-configured-index",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        store={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=0,
    ),
    Scenario(
        "uv-store-sent-up-front-before-netrc",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        uv_store={("{base}/private/simple/", "alice"): "wonder-land"},
        netrc="machine 127.0.0.1 login mallory password wrong\n",
        lookups=0,
    ),
    Scenario(
        "keyring-stays-lazy-when-netrc-has-nothing",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        netrc="machine other.example login bob password x\n",
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=1,
    ),
    Scenario(
        "anonymous-403-on-index-is-a-challenge",
        [{**PRIVATE, "anonymous": 403}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "anonymous-404-on-index-is-a-challenge",
        [{**PRIVATE, "anonymous": 404}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "anonymous-403-nothing-found-returned-with-diagnosis",
        [{**PRIVATE, "anonymous": 403}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [403],
        [None],
    ),
    Scenario(
        "anonymous-404-outside-any-index-no-lookup",
        [{**PRIVATE, "anonymous": 404}],
        [],
        ["/private/simple/pkg/"],
        [404],
        [None],
        keyring={("{base}", "alice"): "wonder-land"},
        lookups=0,
    ),
    Scenario(
        "401-outside-any-index-realm-lookup",
        [PRIVATE],
        [],
        ["/private/x"],
        [200],
        [None, "alice"],
        keyring={("{netloc}", "alice"): "wonder-land"},
    ),
    Scenario(
        "wrong-password-from-keyring-rejected",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [indexauth.CredentialsRejectedError],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wrong"},
    ),
    Scenario(
        "wrong-password-from-env-rejected-without-retry",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/pkg/"],
        [indexauth.CredentialsRejectedError],
        ["alice"],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "no"},
    ),
    Scenario(
        "refused-env-credentials-never-sent-again",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/a/", "/private/simple/b/"],
        [indexauth.CredentialsRejectedError, indexauth.CredentialsRejectedError],
        ["alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "no"},
    ),
    Scenario(
        "refused-keyring-credentials-never-sent-again",
        [{**PRIVATE, "anonymous": 404}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/a/", "/private/simple/b/", "/private/simple/c/"],
        [indexauth.CredentialsRejectedError, 404, 404],
        [None, "alice", None, None],
        keyring={("{base}/private/simple/", "alice"): "wrong"},
    ),
    # Artifactory with Xray (or Nexus Firewall) answers 403 for one blocked package: credentials
    # the index has answered with a 2xx are not refused by it, and go on to the rest.
    Scenario(
        "403-for-one-package-after-a-2xx-keeps-the-credentials",
        [PRIVATE, {**BLOCKED, "users": ALICE}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/a/", "/private/simple/blocked/", "/private/simple/b/"],
        [200, indexauth.ForbiddenError, 200],
        ["alice", "alice", "alice"],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "403-for-one-package-says-the-resource-was-refused-not-the-credentials",
        [PRIVATE, {**BLOCKED, "users": ALICE}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/a/", "/private/simple/blocked/"],
        [200, indexauth.ForbiddenError],
        ["alice", "alice"],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
        message="the server refused this one resource, not the credentials",
        absent="wonder-land",
    ),
    Scenario(
        "403-for-one-package-after-a-2xx-keyring-found-on-a-challenge",
        [PRIVATE, {**BLOCKED, "users": ALICE}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/a/", "/private/simple/blocked/", "/private/simple/b/"],
        [200, indexauth.ForbiddenError, 200],
        [None, "alice", "alice", "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=1,
    ),
    # A program's token that met a 403 after a 2xx: the program is asked once more. The same
    # token back means the resource; another is tried once on that request.
    Scenario(
        "403-for-one-package-after-a-2xx-helper-asked-once-more-same-token-kept",
        [
            {"prefix": "/private/", "tokens": {"Authorization": ["Bearer t1"]}},
            {**BLOCKED, "tokens": {"Authorization": ["Bearer t1"]}},
        ],
        [{"url": "{base}/private/simple/", "credential_helper": ["az-helper"], "authenticate": "always"}],
        ["/private/simple/a/", "/private/simple/blocked/", "/private/simple/b/"],
        [200, indexauth.ForbiddenError, 200],
        ["Bearer t1", "Bearer t1", "Bearer t1"],
        programs={"az-helper": {"tokens": ["t1"], "helper": ("Authorization", "Bearer {token}", None)}},
        runs={"az-helper": 2},
        header="authorization",
    ),
    Scenario(
        "403-for-one-package-after-a-2xx-rotating-token-tried-once",
        [
            {"prefix": "/private/", "tokens": {"Authorization": ["Bearer t1", "Bearer t2"]}},
            {**BLOCKED, "tokens": {"Authorization": ["Bearer t1", "Bearer t2"]}},
        ],
        [{"url": "{base}/private/simple/", "credential_helper": ["az-helper"], "authenticate": "always"}],
        ["/private/simple/a/", "/private/simple/blocked/"],
        [200, indexauth.ForbiddenError],
        ["Bearer t1", "Bearer t1", "Bearer t2"],
        programs={"az-helper": {"tokens": ["t1", "t2", "t3"], "helper": ("Authorization", "Bearer {token}", None)}},
        runs={"az-helper": 2},
        header="authorization",
        message="the server refused this one resource, not the credentials",
    ),
    Scenario(
        "revoked-helper-token-403-after-a-2xx-is-refreshed",
        [
            {"prefix": "/private/", "tokens": {"Authorization": ["Bearer t1", "Bearer t2"]}},
            # t1 was revoked after the first request: this path answers it with 403
            {"prefix": "/private/simple/b/", "tokens": {"Authorization": ["Bearer t2"]}, "wrong": 403},
        ],
        [{"url": "{base}/private/simple/", "credential_helper": ["az-helper"], "authenticate": "always"}],
        ["/private/simple/a/", "/private/simple/b/", "/private/simple/c/"],
        [200, 200, 200],
        ["Bearer t1", "Bearer t1", "Bearer t2", "Bearer t2"],
        programs={"az-helper": {"tokens": ["t1", "t2"], "helper": ("Authorization", "Bearer {token}", None)}},
        runs={"az-helper": 2},
        header="authorization",
    ),
    Scenario(
        "401-after-a-2xx-still-refuses-the-credentials",
        [PRIVATE, {**BLOCKED, "users": ALICE, "status": 401}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/a/", "/private/simple/blocked/", "/private/simple/b/"],
        [200, indexauth.CredentialsRejectedError, indexauth.CredentialsRejectedError],
        ["alice", "alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
        message="refused earlier in this process",
    ),
    Scenario(
        "403-on-the-first-use-still-refuses-the-credentials",
        [PRIVATE, {**BLOCKED, "users": ALICE}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/blocked/", "/private/simple/a/"],
        [indexauth.ForbiddenError, indexauth.ForbiddenError],
        ["alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
        message="refused earlier in this process",
    ),
    Scenario(
        "404-is-no-2xx-a-later-403-still-refuses-the-credentials",
        [PRIVATE, {**BLOCKED, "users": ALICE}, {"prefix": "/private/simple/gone/", "users": ALICE, "status": 404}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/gone/", "/private/simple/blocked/", "/private/simple/a/"],
        [404, indexauth.ForbiddenError, indexauth.ForbiddenError],
        ["alice", "alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "digest-challenge-left-to-the-caller-no-basic-retry",
        [{**PRIVATE, "www_authenticate": DIGEST_CHALLENGE, "accept": ("Digest",)}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [401],
        [None],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=0,
    ),
    Scenario(
        "bearer-challenge-left-to-the-caller-no-basic-retry",
        [{**PRIVATE, "www_authenticate": 'Bearer realm="index", error="invalid_token"'}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [401],
        [None],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        # No lookup count here: with netrc (then lazy) beside keyring, the old lookups=0 never
        # reached keyring; with keyring alone this flow does look up once (no Basic retry follows).
    ),
    Scenario(
        "negotiate-challenge-left-to-the-caller-no-basic-retry",
        [{**PRIVATE, "www_authenticate": "Negotiate"}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [401],
        [None],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=0,
    ),
    Scenario(
        "basic-offered-beside-negotiate-is-answered",
        [{**PRIVATE, "www_authenticate": 'Negotiate, Basic realm="index"'}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "401-without-www-authenticate-is-answered-as-gitlab-needs",
        [{**PRIVATE, "challenge": False}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "digest-401-to-credentials-sent-up-front-returned-for-the-caller",
        [{**PRIVATE, "www_authenticate": DIGEST_CHALLENGE, "accept": ("Digest",)}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/a/", "/private/simple/b/"],
        [401, 401],
        ["alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "credentials-sent-403-forbidden",
        [{**PRIVATE, "wrong": 403}],
        [{"url": "{base}/private/simple/", "authenticate": "always"}],
        ["/private/simple/pkg/"],
        [indexauth.ForbiddenError],
        ["alice"],
        keyring={("{base}/private/simple/", "alice"): "wrong"},
    ),
    Scenario(
        "credentials-sent-404-returned",
        [{**PRIVATE, "wrong": 404}],
        [{"url": "{base}/private/simple/", "authenticate": "always"}],
        ["/private/simple/pkg/"],
        [404],
        ["alice"],
        keyring={("{base}/private/simple/", "alice"): "wrong"},
    ),
    Scenario(
        "username-without-password-auto-incomplete",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "username": "alice"}],
        ["/private/simple/pkg/"],
        [indexauth.IncompleteCredentialsError],
        [None],
    ),
    Scenario(
        "url-lone-user-no-password-anywhere-tried-as-token-refused-incomplete",
        [PRIVATE],
        [{"url": "http://alice@{netloc}/private/simple/", "authenticate": "always"}],
        ["/private/simple/pkg/"],
        [indexauth.IncompleteCredentialsError],
        ["alice"],
    ),
    Scenario(
        "url-lone-user-is-a-token-with-empty-password-as-in-pip",
        [{"prefix": "/private/", "users": {"glpat-Zq81xT": ""}}],
        [{"url": "http://glpat-Zq81xT@{netloc}/private/simple/"}],
        ["/private/simple/a/", "/private/files/a.whl"],
        [200, 200],
        ["glpat-Zq81xT", "glpat-Zq81xT"],
    ),
    Scenario(
        "url-conventional-name-alone-never-sent-incomplete-before-sending",
        [{"prefix": "/private/", "users": {"__token__": ""}}],
        [{"url": "http://__token__@{netloc}/private/simple/"}],
        ["/private/simple/pkg/"],
        [indexauth.IncompleteCredentialsError],
        [],
    ),
    Scenario(
        "url-conventional-name-password-from-keyring-up-front",
        [{"prefix": "/private/", "users": {"__token__": "pypi-Zq81"}}],
        [{"url": "http://__token__@{netloc}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["__token__"],
        keyring={("{base}/private/simple/", "__token__"): "pypi-Zq81"},
    ),
    Scenario(
        "url-username-password-from-keyring-up-front",
        [PRIVATE],
        [{"url": "http://alice@{netloc}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "never-strips-and-never-looks-up",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "authenticate": "never"}],
        ["/private/simple/pkg/"],
        [401],
        [None],
        headers={"Authorization": "Basic YWxpY2U6d29uZGVyLWxhbmQ="},
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
        lookups=0,
    ),
    Scenario(
        "request-own-authorization-used-as-is",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        ["alice"],
        headers={"Authorization": "Basic YWxpY2U6d29uZGVyLWxhbmQ="},
        keyring={("{base}/private/simple/", "alice"): "other"},
        lookups=0,
    ),
    Scenario(
        "request-own-authorization-rejected",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [indexauth.CredentialsRejectedError],
        ["bob"],
        headers={"Authorization": "Basic Ym9iOng="},
    ),
    Scenario(
        "two-indexes-one-host-own-credentials",
        [{"prefix": "/a/", "users": {"ann": "pa"}}, {"prefix": "/b/", "users": {"ben": "pb"}}],
        [{"url": "{base}/a/simple/", "name": "a"}, {"url": "{base}/b/simple/", "name": "b"}],
        ["/a/simple/x/", "/b/simple/x/", "/a/simple/y/"],
        [200, 200, 200],
        ["ann", "ben", "ann"],
        env={
            "INDEXAUTH_INDEX_A_USERNAME": "ann",
            "INDEXAUTH_INDEX_A_PASSWORD": "pa",
            "INDEXAUTH_INDEX_B_USERNAME": "ben",
            "INDEXAUTH_INDEX_B_PASSWORD": "pb",
        },
    ),
    Scenario(
        "longest-root-wins",
        [{"prefix": "/a/b/", "users": {"ben": "pb"}}],
        [{"url": "{base}/a/simple/", "name": "outer"}, {"url": "{base}/a/b/simple/", "name": "inner"}],
        ["/a/b/simple/x/"],
        [200],
        ["ben"],
        env={
            "INDEXAUTH_INDEX_OUTER_USERNAME": "ann",
            "INDEXAUTH_INDEX_OUTER_PASSWORD": "pa",
            "INDEXAUTH_INDEX_INNER_USERNAME": "ben",
            "INDEXAUTH_INDEX_INNER_PASSWORD": "pb",
        },
    ),
    Scenario(
        "whole-segments-only",
        [{"prefix": "/pypievil/"}],
        [{"url": "{base}/pypi/", "name": "internal"}],
        ["/pypievil/x/"],
        [200],
        [None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "pw"},
    ),
    Scenario(
        # `..` beside a byte a server may drop (UTF-8 decoded with errors ignored) is a dot segment.
        "dots-beside-an-undecodable-byte-get-no-credentials",
        [PRIVATE],
        [{"url": "{base}/private/simple/", "authenticate": "always"}],
        ["/private/simple/pkg/", "/private/simple/..%ff/..%c0/other/x/"],
        [200, 401],
        ["alice", None],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "devpi-plus-simple-root-covers-files",
        [{"prefix": "/alice/dev/", "users": ALICE}],
        [{"url": "{base}/alice/dev/+simple/"}],
        ["/alice/dev/+simple/pkg/", "/alice/dev/+f/abc/pkg-1.0.tar.gz"],
        [200, 200],
        [None, "alice", "alice"],
        keyring={("{base}/alice/dev/+simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "non-ascii-credentials-utf8-basic",
        [{"prefix": "/private/", "users": {"jürgen": "pässwörd-✓"}}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "jürgen"],
        keyring={("{base}/private/simple/", "jürgen"): "pässwörd-✓"},
    ),
    Scenario(
        "redirect-out-of-index-carries-no-credentials",
        [PRIVATE, {"prefix": "/private/simple/go/", "users": ALICE, "redirect": "/public/x"}, {"prefix": "/public/"}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/go/"],
        [200],
        ["alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "redirect-to-other-origin-carries-no-credentials",
        [{"prefix": "/private/simple/go/", "users": ALICE, "redirect": "http://localhost:{port}/public/x"}, {"prefix": "/public/"}],
        [{"url": "{base}/private/simple/", "name": "internal"}],
        ["/private/simple/go/"],
        [200],
        ["alice", None],
        env={"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wonder-land"},
    ),
    Scenario(
        "404-to-credentials-keeps-them-up-front",
        [{"prefix": "/private/", "users": ALICE, "anonymous": 404, "status": 404}],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/absent/", "/private/simple/absent-too/"],
        [404, 404],
        [None, "alice", "alice"],
        keyring={("{base}/private/simple/", "alice"): "wonder-land"},
    ),
    Scenario(
        "netrc-default-entry-for-a-configured-index",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [200],
        [None, "alice"],
        netrc="default login alice password wonder-land\n",
    ),
    Scenario(
        "netrc-default-entry-never-for-unconfigured-urls",
        [PRIVATE],
        [],
        ["/private/x"],
        [indexauth.MissingCredentialsError],
        [None],
        netrc="default login alice password wonder-land\n",
    ),
    Scenario(
        "raise-on-failure-off-returns-401-with-diagnosis",
        [PRIVATE],
        [{"url": "{base}/private/simple/"}],
        ["/private/simple/pkg/"],
        [401],
        [None],
        options={"raise_on_failure": False},
    ),
    Scenario(
        "password-command-success-runs-once",
        [{"prefix": "/private/", "users": {"aws": "aws-token-1"}}],
        [{"url": "{base}/private/simple/", "username": "aws", "password_command": ["aws", "codeartifact", "get-authorization-token"]}],
        ["/private/simple/a/", "/private/simple/b/"],
        [200, 200],
        [None, "aws", "aws"],
        programs={"aws": {"tokens": ["aws-token-1"]}},
        runs={"aws": 1},
    ),
    Scenario(
        "password-command-failure-provider-error-redacted",
        [{"prefix": "/private/", "users": {"aws": "aws-token-1"}}],
        [{"url": "{base}/private/simple/", "username": "aws", "password_command": "aws codeartifact get-authorization-token --domain secret-domain"}],
        ["/private/simple/a/"],
        [indexauth.ProviderError],
        [None],
        programs={"aws": {"tokens": ["x"], "fail": "An error occurred (ExpiredToken): token=sk-LEAKED-VALUE is expired\n"}},
        runs={"aws": 1},
        message="password command `aws` failed with exit status 1",
        absent="LEAKED",
    ),
    Scenario(
        "helper-custom-header-sent-as-given",
        [{"prefix": "/private/", "tokens": {"X-JFrog-Art-Api": ["art-1"]}}],
        [{"url": "{base}/private/simple/", "credential_helper": ["art-helper"], "authenticate": "always"}],
        ["/private/simple/a/", "/private/files/a.whl"],
        [200, 200],
        ["art-1", "art-1"],
        programs={"art-helper": {"tokens": ["art-1"], "helper": ("X-JFrog-Art-Api", "{token}", None)}},
        runs={"art-helper": 1},
        header="x-jfrog-art-api",
    ),
    Scenario(
        "helper-expiry-crossed-mid-run-renewed-before-sending",
        [{"prefix": "/private/", "tokens": {"Authorization": ["Bearer t1", "Bearer t2"]}}],
        [{"url": "{base}/private/simple/", "credential_helper": ["gar-helper"]}],
        ["/private/simple/a/", "/private/simple/b/", "/private/simple/c/", "/private/simple/d/"],
        [200, 200, 200, 200],
        [None, "Bearer t1", "Bearer t1", "Bearer t2", "Bearer t2"],
        programs={"gar-helper": {"tokens": ["t1", "t2"], "helper": ("Authorization", "Bearer {token}", "2030-01-01T01:00:00Z")}},
        runs={"gar-helper": 2},
        header="authorization",
        clock_jump=(3, 3600 - 30),  # inside the 60 s margin once three requests were answered
    ),
    Scenario(
        "refresh-on-401-succeeds-bearer",
        [{"prefix": "/private/", "tokens": {"Authorization": ["Bearer t2"]}}],
        [{"url": "{base}/private/simple/", "password_command": ["get-token"], "auth": "bearer", "authenticate": "always"}],
        ["/private/simple/a/", "/private/simple/b/"],
        [200, 200],
        ["Bearer t1", "Bearer t2", "Bearer t2"],
        programs={"get-token": {"tokens": ["t1", "t2"]}},
        runs={"get-token": 2},
        header="authorization",
    ),
    Scenario(
        "refresh-on-401-after-challenge-succeeds",
        [{"prefix": "/private/", "users": {"oauth2accesstoken": "t2"}}],
        [{"url": "{base}/private/simple/", "username": "oauth2accesstoken", "password_command": ["gcloud", "auth", "print-access-token"]}],
        ["/private/simple/a/"],
        [200],
        [None, "oauth2accesstoken", "oauth2accesstoken"],
        programs={"gcloud": {"tokens": ["t1", "t2"]}},
        runs={"gcloud": 2},
    ),
    Scenario(
        "refresh-fails-rejected-naming-the-command",
        [{"prefix": "/private/", "tokens": {"Authorization": ["Bearer never"]}}],
        [{"url": "{base}/private/simple/", "password_command": ["get-token"], "auth": "bearer", "authenticate": "always"}],
        ["/private/simple/a/"],
        [indexauth.CredentialsRejectedError],
        ["Bearer t1", "Bearer t2"],
        programs={"get-token": {"tokens": ["t1", "t2"]}},
        runs={"get-token": 2},
        header="authorization",
        message="password command `get-token`, run again for fresh credentials, which were refused too",
        absent="Bearer t",
    ),
    Scenario(
        "refresh-on-403-after-send",
        [{"prefix": "/private/", "tokens": {"Authorization": ["Bearer t2"]}, "wrong": 403}],
        [{"url": "{base}/private/simple/", "credential_helper": ["az-helper"], "authenticate": "always"}],
        ["/private/simple/a/"],
        [200],
        ["Bearer t1", "Bearer t2"],
        programs={"az-helper": {"tokens": ["t1", "t2"], "helper": ("Authorization", "Bearer {token}", None)}},
        runs={"az-helper": 2},
        header="authorization",
    ),
    Scenario(
        "redirect-to-other-origin-drops-helper-header",
        [{"prefix": "/private/simple/go/", "tokens": {"Private-Token": ["glpat-1"]}, "redirect": "http://localhost:{port}/public/x"}, {"prefix": "/public/"}],
        [{"url": "{base}/private/simple/", "credential_helper": ["glab-helper"], "authenticate": "always"}],
        ["/private/simple/go/"],
        [200],
        ["glpat-1", None],
        programs={"glab-helper": {"tokens": ["glpat-1"], "helper": ("Private-Token", "{token}", None)}},
        header="private-token",
    ),
    Scenario(
        "redirect-to-other-index-same-origin-drops-helper-header",
        [{"prefix": "/a/simple/go/", "tokens": {"Private-Token": ["glpat-1"]}, "redirect": "/b/simple/x/"}, {"prefix": "/b/"}],
        [{"url": "{base}/a/simple/", "credential_helper": ["glab-helper"], "authenticate": "always"}, {"url": "{base}/b/simple/"}],
        ["/a/simple/go/"],
        [200],
        ["glpat-1", None],
        programs={"glab-helper": {"tokens": ["glpat-1"], "helper": ("Private-Token", "{token}", None)}},
        header="private-token",
    ),
]


def uv_login(service: str, username: str, password: str) -> None:
    """The real `uv auth login`, writing uv's store in this test's XDG data directory."""
    uv = pytest.importorskip("uv", reason="pip install -e '.[test]' brings uv")
    subprocess.run(
        [uv.find_uv_bin(), "auth", "login", service, "--username", username, "--password", "-"],
        input=password, capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "UV_NO_CONFIG": "1"},
    )


def _fill(value: str, server: IndexServer) -> str:
    return value.format(base=server.url("").rstrip("/"), netloc=f"127.0.0.1:{server.port}", port=server.port)


@pytest.mark.parametrize("driver_name", sorted(DRIVERS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario(
    scenario: Scenario,
    driver_name: str,
    server: IndexServer,
    kr: KeyringStore,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    standin: Callable[[str], StandIn],
) -> None:
    """Each row behaves the same through every driver."""
    programs = {}
    for name, spec in scenario.programs.items():
        program = programs[name] = standin(name).tokens(*spec["tokens"])
        if "helper" in spec:
            program.helper(*spec["helper"])
        if "fail" in spec:
            program.fail(spec["fail"])
    for route in scenario.routes:
        kwargs = dict(route)
        if isinstance(kwargs.get("redirect"), str):
            kwargs["redirect"] = _fill(kwargs["redirect"], server)
        server.route(kwargs.pop("prefix"), **kwargs)
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    for (service, user), password in scenario.keyring.items():
        kr.set(_fill(service, server), user, password)
    for (service, user), password in scenario.store.items():
        Store().put(_fill(service, server), user, password)
    for (service, user), password in scenario.uv_store.items():
        uv_login(_fill(service, server), user, password)
    if scenario.netrc is not None:
        netrc = tmp_path / "netrc"
        netrc.write_text(scenario.netrc)
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
    indexes = [indexauth.Index(**{**i, "url": _fill(i["url"], server)}) for i in scenario.indexes]
    calls = [Call(server.url(p), headers=dict(scenario.headers)) for p in scenario.paths]
    options = dict(scenario.options)
    if scenario.clock_jump is not None:
        after, seconds = scenario.clock_jump

        def clock() -> float:
            # Time moves when the server has answered enough requests: no sleeping.
            return T0 + (seconds if len(server.seen) >= after else 0.0)

        options["authenticator"] = build_authenticator(indexes, clock=clock)

    outcomes = DRIVERS[driver_name]().run(calls, indexes=indexes, options=options)

    for outcome, expected in zip(outcomes, scenario.expect, strict=True):
        if isinstance(expected, int):
            assert isinstance(outcome, Result), outcome
            assert outcome.status == expected
        else:
            assert isinstance(outcome, expected), outcome
    if scenario.header is not None:
        assert [s.headers.get(scenario.header) for s in server.seen] == scenario.seen
    else:
        assert [s.user for s in server.seen] == scenario.seen
    if scenario.lookups is not None:
        assert len(kr.lookups()) == scenario.lookups
    assert {name: len(p.calls()) for name, p in programs.items() if name in scenario.runs} == scenario.runs
    if scenario.message is not None:
        assert scenario.message in str(outcomes[-1])
    if scenario.absent is not None:
        for outcome in outcomes:
            shown = str(outcome.diagnosis) if isinstance(outcome, Result) else f"{outcome}{outcome!r}"
            assert scenario.absent not in shown
