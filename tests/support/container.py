"""A new "container" for tests: a new Lambda execution environment starts with nothing built.
Each handler module makes its own :class:`wxface.runtime.Container` at import (tests load the
module afresh for a new container); what is left to forget is the environment read once
(``settings()``). The layer itself has no such hook: nothing shipped can reset what a container
built."""

from __future__ import annotations

from wxface.runtime import Container
from wxface.settings import settings


def new_container() -> None:
    settings.cache_clear()


def container(service: str = "unit") -> Container:
    """A container of its own, as a function's handler module makes one, from the environment
    as it is now."""
    new_container()
    return Container.for_function(service)
