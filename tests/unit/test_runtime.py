"""The per-container wiring: each part built once per container, nothing shared between two
containers, and nothing registered at module level that a second container would inherit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.container import container, new_container
from wxface import runtime


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for key, value in {
        "TABLE_NAME": "first",
        "PARAM_PATH": "/unit",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(key, value)
    new_container()
    yield monkeypatch
    new_container()  # nothing built from this test's environment outlives it


def test_a_container_builds_each_part_once_and_a_new_one_shares_nothing(env: pytest.MonkeyPatch) -> None:
    first = container()
    table, client, params = first.table, first.aws.dynamodb(), first.params
    assert first.table is table and first.aws.dynamodb() is client and first.params is params
    assert first.wechat is first.wechat and first.edge_for_keys is first.edge_for_keys
    env.setenv("TABLE_NAME", "second")
    second = container()
    assert second.table.name == "second" and first.table.name == "first"
    assert second.aws.dynamodb() is not client
    assert second.params is not params  # its parameter cache and what it found missing too


def test_the_wiring_module_holds_no_state_of_a_container() -> None:
    """Everything a container builds lives on its object: the module has no cache, list or
    registration a test (or a second function in one process) would have to reset."""
    state = {
        name: value
        for name, value in vars(runtime).items()
        if not name.startswith("__")
        and not callable(value)
        and not isinstance(value, type(runtime))
        and name not in {"annotations", "TYPE_CHECKING"}
    }
    assert state == {}
    own = [v for v in vars(runtime).values() if getattr(v, "__module__", None) == runtime.__name__]
    assert not [v for v in own if hasattr(v, "cache_clear")]
