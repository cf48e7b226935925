"""Lambda SnapStart (the template's ``SnapStart=true``, off by default): what an environment
resumed from a snapshot must do again.

Every environment restored from one snapshot starts from the same memory, so Python's ``random``
generator, which draws the retry jitter (the WeChat calling policy's, the table's transaction
retries', botocore's), would give each of them the same sequence: the retries of many
environments would collide instead of spreading out. The after-restore hook reseeds it from the
operating system. Nothing else needs it: the init a snapshot captures makes no key, token,
client or per-request value (a container reads its keys, creates its clients and its connection
to WeChat on its first request), and the ids the product issues come from ``secrets`` and
``uuid4`` (the operating system's randomness, read on each use)."""

from __future__ import annotations

import random


def reseed() -> None:
    """``random`` reseeded from the operating system's randomness."""
    random.seed()


def register() -> bool:
    """Register :func:`reseed` to run after each restore, where the runtime offers the hook
    (Lambda's Python 3.12+ managed runtimes ship ``snapshot_restore_py``); answers whether it was
    registered. Without SnapStart the hook is never called."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(reseed)
    return True
