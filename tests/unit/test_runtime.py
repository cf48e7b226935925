"""new_container(): a new "container" for tests, without a hand-kept list of caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.container import MODULES, new_container
from wxface import runtime
from wxface.dal import aws


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


def test_a_new_container_forgets_every_per_container_singleton(env: pytest.MonkeyPatch) -> None:
    table, client, params = runtime.table(), aws.dynamodb(), runtime.params()
    assert runtime.table() is table and aws.dynamodb() is client  # once per container
    env.setenv("TABLE_NAME", "second")
    new_container()
    assert runtime.table().name == "second"
    assert aws.dynamodb() is not client
    assert runtime.params() is not params  # its parameter cache and what it found missing too
    for module in MODULES:
        new_container()
        cached = [v for v in vars(module).values() if callable(getattr(v, "cache_clear", None))]
        assert cached, module
        assert all(v.cache_info().currsize == 0 for v in cached), module
