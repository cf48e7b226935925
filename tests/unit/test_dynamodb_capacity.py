"""The local endpoint's DynamoDB request units follow DynamoDB's documented sizing rules (moto's
own ConsumedCapacity is a constant): the cost model in make bench is built on them."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from devstack.capacity import item_size, number_size, read_units, value_size, write_units

names = st.text(min_size=1, max_size=20)


@given(names, st.text(max_size=300))
def test_a_string_attribute_is_its_name_and_value_in_utf8_bytes(name: str, text: str) -> None:
    assert item_size({name: {"S": text}}) == len(name.encode()) + len(text.encode())


@given(names, st.binary(max_size=300))
def test_a_binary_counts_its_raw_bytes_not_the_base64_on_the_wire(name: str, raw: bytes) -> None:
    assert item_size({name: {"B": base64.b64encode(raw).decode()}}) == len(name.encode()) + len(raw)


def test_numbers_cost_a_byte_per_two_significant_digits_plus_one() -> None:
    assert number_size("7") == 2
    assert number_size("1800000000") == 2  # trailing zeroes trimmed: "18"
    assert number_size("1764500000123") == 8  # 13 digits
    assert number_size("-0.25") == 2


def test_lists_and_maps_add_three_bytes_and_one_per_element() -> None:
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (2 + 1) + (2 + 1)
    assert value_size({"M": {"k": {"BOOL": True}}}) == 3 + (1 + 1 + 1)


@given(st.integers(min_value=0, max_value=400 * 1024))
def test_writes_are_billed_per_started_kilobyte_and_never_below_one(size: int) -> None:
    units = write_units(size)
    assert units >= 1
    assert (units - 1) * 1024 < max(size, 1) <= units * 1024


def test_reads_are_billed_per_started_4kb_and_halved_when_eventually_consistent() -> None:
    assert read_units(0, consistent=True) == 1
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(100, consistent=False) == 0.5
