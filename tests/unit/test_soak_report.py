"""``make soak ... --write``: a run rewrites its own face API version's section of
docs/reliability.md and keeps the other's, so both versions' figures can be quoted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from soak.__main__ import write_report


def report(version: int, completed: int) -> dict[str, Any]:
    return {
        "face_api_version": version,
        "verifications_completed": completed,
        "faults_injected": {"wechat busy": 2},
        "drain": [{}, {}],
        "violations": [],
    }


def test_a_run_rewrites_only_its_own_versions_section(tmp_path: Path) -> None:
    doc = tmp_path / "reliability.md"
    write_report(report(2, 100), "--face-api-version 2", doc)
    write_report(report(1, 50), "--face-api-version 1", doc)
    text = doc.read_text()
    assert text.index("## Face API 2.0") < text.index("## Face API 1.0") < text.index("## What the soak")
    assert "| verifications_completed | 100 |" in text and "| verifications_completed | 50 |" in text
    assert '| faults_injected | {"wechat busy": 2} |' in text
    assert "the drain needed 2 round(s)" in text
    write_report(report(2, 300), "--face-api-version 2 --minutes 5", doc)
    text = doc.read_text()
    assert "| verifications_completed | 300 |" in text and "| verifications_completed | 100 |" not in text
    assert "| verifications_completed | 50 |" in text  # 1.0's figures stay
    assert text.count("## Face API 2.0") == 1 and "--minutes 5" in text
