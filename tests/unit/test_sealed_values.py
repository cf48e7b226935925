"""Values kept only to be sent back to WeChat (2.0 ``cert_hash``) are sealed with AES-256-GCM
under the stack's sealing key, bound to their record: a table dump does not give them up, and a
sealed value moved to another record, altered, or read with another key does not open."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxface.domain.stack_keys import SealBroken, SealingKey

KEY = SealingKey(b"k" * 32)
printable = st.text(min_size=0, max_size=200)


@given(value=printable, record=st.text(min_size=1, max_size=64))
def test_what_is_sealed_opens_again_for_its_own_record(value: str, record: str) -> None:
    assert KEY.open(KEY.seal(value, bound_to=record), bound_to=record) == value


@given(value=st.text(min_size=8, max_size=80))
def test_the_sealed_form_shows_nothing_of_the_value_and_never_repeats(value: str) -> None:
    first, second = KEY.seal(value, "r"), KEY.seal(value, "r")
    assert value not in first and first != second  # a fresh nonce each time


@given(value=printable, flip=st.integers(min_value=0, max_value=10_000))
def test_any_altered_byte_is_refused(value: str, flip: int) -> None:
    raw = bytearray(base64.b64decode(KEY.seal(value, "r")[3:]))
    raw[flip % len(raw)] ^= 0x01
    with pytest.raises(SealBroken):
        KEY.open("v1:" + base64.b64encode(bytes(raw)).decode(), "r")


def test_a_sealed_value_does_not_open_for_another_record_or_key() -> None:
    sealed = KEY.seal("a" * 64, "record-1")
    attempts: list[Callable[[], str]] = [
        lambda: KEY.open(sealed, "record-2"),  # moved to another record
        lambda: SealingKey(b"x" * 32).open(sealed, "record-1"),  # another stack's key
        lambda: KEY.open("a" * 64, "record-1"),  # a plain hash (a record from before sealing)
        lambda: KEY.open("v1:%%%", "record-1"),
    ]
    for attempt in attempts:
        with pytest.raises(SealBroken):
            attempt()


def test_the_key_never_shows_itself() -> None:
    assert "kkk" not in repr(KEY)
