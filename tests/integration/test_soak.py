"""A short fault soak (``make soak``'s engine) inside ``make test``: a few users for 20 seconds
on a stack of its own while WeChat, AWS and Lambda fail at random (seeded), then the drain and the
checker: no invariant may fail. The long run's figures are in docs/reliability.md."""

from __future__ import annotations

import pytest

from soak.__main__ import run

pytestmark = pytest.mark.integration


def test_a_short_soak_with_faults_holds_every_invariant() -> None:
    report = run(n_users=6, seconds=20, fault_rate=0.5, version=2, seed=11)
    assert report["violations"] == []
    assert report["verifications_completed"] > 10  # it did real work
    assert sum(report["faults_injected"].values()) >= 5  # under real faults
