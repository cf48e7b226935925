"""The body check before routing: a JSON object in UTF-8, strictly JSON, each name once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxface.api.errors import ApiError
from wxface.api.resolver import _json_object

POST = {"requestContext": {"http": {"method": "POST"}}}

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
OBJECTS = st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6)


def refused(raw: bytes) -> str:
    with pytest.raises(ApiError) as err:
        _json_object(POST, raw)
    return err.value.code


@given(OBJECTS)
def test_every_json_object_passes_as_it_was_sent(data: dict[str, Any]) -> None:
    assert _json_object(POST, json.dumps(data, ensure_ascii=False).encode("utf-8")) == data


@given(OBJECTS.filter(bool), st.data())
def test_an_object_naming_a_field_twice_is_malformed(data: dict[str, Any], draw: st.DataObject) -> None:
    name = draw.draw(st.sampled_from(sorted(data)))
    again = draw.draw(JSON_VALUES)
    body = json.dumps(data, ensure_ascii=False)[:-1] + f", {json.dumps(name)}: {json.dumps(again)}}}"
    assert refused(body.encode("utf-8")) == "malformed_json"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    assert refused(f'{{"verify_id": {constant}}}'.encode()) == "malformed_json"


def test_a_field_twice_deep_inside_is_malformed_too() -> None:
    assert refused(b'{"a": {"b": 1, "b": 2}}') == "malformed_json"
