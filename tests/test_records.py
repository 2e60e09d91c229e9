"""`_models.Record` values behave as the frozen dataclasses they replaced (issue 15, first use).

Each Record class is compared with a `@dataclass(frozen=True)` of the same
fields, built here: repr (the password of a stored credential left out),
equality with its own class only, hash, pickling, copying and no assignment.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import indexauth
from indexauth._models import Record
from indexauth._settings import Entry
from indexauth._sources import Target
from indexauth._store import StoredCredential
from indexauth._urls import realm_of


@dataclass(frozen=True)
class _Target:
    index: Any
    realm: Any
    url: str = ""


@dataclass(frozen=True)
class _Entry:
    index: Any
    origin: str


@dataclass(frozen=True)
class _StoredCredential:
    service: str
    username: str
    password: str = field(repr=False)


INDEXES = st.sampled_from(
    [
        None,
        indexauth.Index("https://h.example/simple/"),
        indexauth.Index("https://u:pw-SECRET@h.example/simple/", name="x"),
        indexauth.Index("https://tok-SECRET@h.example/simple/", authenticate="always"),
    ]
)
REALMS = st.sampled_from([realm_of("https://h.example/"), realm_of("http://h.example:8080/")])
TEXT = st.text(max_size=6)


@st.composite
def _pairs(draw: st.DrawFn) -> list[tuple[Any, Any]]:
    kind = draw(st.sampled_from(["target", "target-no-url", "entry", "stored"]))
    made: list[tuple[Any, Any]] = []
    for _ in range(2):
        if kind == "target":
            args: tuple[Any, ...] = (draw(INDEXES), draw(REALMS), draw(TEXT))
            made.append((Target(*args), _Target(*args)))
        elif kind == "target-no-url":
            args = (draw(INDEXES), draw(REALMS))
            made.append((Target(*args), _Target(*args)))
        elif kind == "entry":
            index: Any = draw(INDEXES.filter(lambda i: i is not None))
            origin = draw(TEXT)
            made.append((Entry(index, origin), _Entry(index, origin)))
        else:
            args = (draw(TEXT), draw(TEXT), draw(TEXT) + "SECRET")
            made.append((StoredCredential(*args), _StoredCredential(*args)))
    return made


@settings(max_examples=200, deadline=None)
@given(_pairs())
def test_property_records_behave_as_the_frozen_dataclasses_they_replaced(pairs: list[tuple[Any, Any]]) -> None:
    """Repr, ==, !=, hash, pickle (every protocol), copy and deepcopy agree with the dataclass."""
    (one, one_dc), (two, two_dc) = pairs
    assert repr(one) == repr(one_dc).replace(f"{type(one_dc).__qualname__}(", f"{type(one).__qualname__}(")
    assert "SECRET" not in repr(one)
    assert (one == two, one != two) == (one_dc == two_dc, one_dc != two_dc)
    assert hash(one) == hash(one_dc)
    assert one != one_dc and one_dc != one  # another class, as a dataclass is to any other
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back, back_dc = pickle.loads(pickle.dumps(one, protocol)), pickle.loads(pickle.dumps(one_dc, protocol))
        assert type(back) is type(one)
        assert (back == one) == (back_dc == one_dc)  # an Index's URL credentials are not pickled
    assert (copy.copy(one) == one, copy.deepcopy(one) == one) == (
        copy.copy(one_dc) == one_dc,
        copy.deepcopy(one_dc) == one_dc,
    )


@pytest.mark.parametrize(
    "record",
    [
        Target(None, realm_of("https://h.example/")),
        Entry(indexauth.Index("https://h.example/simple/"), "environment X"),
        StoredCredential("https://h.example/", "u", "p"),
    ],
)
def test_records_refuse_assignment_and_deletion(record: Any) -> None:
    """No field can be set or deleted, and no new attribute added, as with `frozen=True`."""
    for name in (*record.__slots__, "other"):
        with pytest.raises(AttributeError):
            setattr(record, name, 1)
        with pytest.raises(AttributeError):
            delattr(record, name)


def test_records_take_their_fields_by_keyword() -> None:
    """The dataclasses' keyword construction still works, with `url` defaulting to empty."""
    realm = realm_of("https://h.example/")
    assert Target(index=None, realm=realm) == Target(None, realm, "")
    index = indexauth.Index("https://h.example/simple/")
    assert Entry(index=index, origin="o") == Entry(index, "o")
    assert StoredCredential(service="s", username="u", password="p") == StoredCredential("s", "u", "p")


def test_records_of_another_class_with_the_same_fields_are_not_equal() -> None:
    """Equality is with the same class only, as a dataclass's: a twin with equal fields differs."""

    class Twin(Record):
        __slots__ = ("index", "origin")

        def __init__(self, index: indexauth.Index, origin: str) -> None:
            object.__setattr__(self, "index", index)
            object.__setattr__(self, "origin", origin)

    index = indexauth.Index("https://h.example/simple/")
    assert Entry(index, "o") != Twin(index, "o")
    assert not Entry(index, "o") == Twin(index, "o")  # noqa: SIM201 - __eq__ itself, not __ne__
    dataclass_twin: Any = _EntryTwin(index, "o")
    assert _Entry(index, "o") != dataclass_twin  # what the dataclass did


@dataclass(frozen=True)
class _EntryTwin:
    index: Any
    origin: str
