"""The repository stands on its own: a user has only it, so nothing in it points outside it (the
product's specification lives beside the developers' copy, never in a user's clone)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = ("../" + "shared", "contract" + ".md")  # spelt in two halves so this file does not match


def test_no_file_refers_outside_the_repository() -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        offenders += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert not offenders, offenders
    assert (ROOT / "docs" / "api.md").is_file()  # where the API is described instead
