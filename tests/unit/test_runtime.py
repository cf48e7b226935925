"""runtime.reset(): a new "container" for tests, without a hand-kept list of caches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wxface import runtime, settings
from wxface.dal import aws, params


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
    runtime.reset()
    yield monkeypatch
    runtime.reset()  # nothing built from this test's environment outlives it


def test_reset_forgets_every_per_container_singleton(env: pytest.MonkeyPatch) -> None:
    table, client = runtime.table(), aws.dynamodb()
    assert runtime.table() is table and aws.dynamodb() is client  # once per container
    env.setenv("TABLE_NAME", "second")
    runtime.reset()
    assert runtime.table().name == "second"
    assert aws.dynamodb() is not client
    for module in (runtime, settings, aws, params):
        runtime.reset()
        cached = [v for v in vars(module).values() if callable(getattr(v, "cache_clear", None))]
        assert cached, module
        assert all(v.cache_info().currsize == 0 for v in cached), module
