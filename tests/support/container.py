"""A new "container" for tests: every per-container singleton of the layer forgotten (the
settings, clients, stores and use cases built once, on first use), as a new Lambda execution
environment starts with none, without a hand-kept list of them. The layer itself has no such
hook: nothing shipped can reset what a container built."""

from __future__ import annotations

from wxface import runtime, settings
from wxface.dal import aws

MODULES = (runtime, settings, aws)


def new_container() -> None:
    for module in MODULES:
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) == module.__name__ and callable(
                getattr(value, "cache_clear", None)
            ):
                value.cache_clear()
