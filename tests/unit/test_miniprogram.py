"""The mini-program client's tests (Node's built-in runner, no npm install), run by `make test`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_miniprogram_client_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the mini-program client's tests (node --test) need Node.js 18+")
    out = subprocess.run(
        [node, "--test", str(ROOT / "miniprogram" / "test")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout
    assert "# pass 0" not in out.stdout


PACKAGE = ROOT / "miniprogram" / "faceverify"


def node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the client package's checks need Node.js 18+ with npm")
    return node, npm


def test_the_package_is_one_wechat_devtools_builds_with_no_runtime_dependencies() -> None:
    import json

    meta = json.loads((PACKAGE / "package.json").read_text())
    assert meta["miniprogram"] == "lib"  # 构建 npm copies this directory into miniprogram_npm
    assert (PACKAGE / meta["main"]).is_file() and meta["main"].startswith("lib/")
    assert (PACKAGE / meta["types"]).is_file()
    assert meta["dependencies"] == {}
    assert all(not v.startswith(("^", "~")) for v in meta["devDependencies"].values())  # pinned


def test_the_package_packs_its_library_with_its_readme_and_licence() -> None:
    import json

    _, npm = node_and_npm()
    out = subprocess.run(
        [npm, "pack", "--dry-run", "--json"],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    files = sorted(f["path"] for f in json.loads(out.stdout)[0]["files"])
    assert files == [
        "LICENSE",
        "README.md",
        "lib/client.js",
        "lib/index.d.ts",
        "lib/index.js",
        "lib/messages.js",
        "package.json",
    ]
    # The licence package.json names, the same text as the repository's.
    assert json.loads((PACKAGE / "package.json").read_text())["license"] == "MIT"
    assert (PACKAGE / "LICENSE").read_text() == (PACKAGE.parents[1] / "LICENSE").read_text()
    assert (PACKAGE / "LICENSE").read_text().startswith("MIT License")


def test_every_export_is_declared_in_the_types() -> None:
    import json
    import re

    node, _ = node_and_npm()
    out = subprocess.run(
        [node, "-e", "console.log(JSON.stringify(Object.keys(require('./lib/index'))))"],
        cwd=PACKAGE, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    exported = set(json.loads(out.stdout))
    declared = set(
        re.findall(
            r"^export (?:declare )?(?:function|const|class|namespace) (\w+)",
            (PACKAGE / "lib" / "index.d.ts").read_text(),
            re.M,
        )
    )
    assert exported == declared


def test_the_types_check_with_the_pinned_typescript() -> None:
    """tsc --noEmit over the declarations and a usage file whose wrong calls must be refused
    (@ts-expect-error): TypeScript from the package's own lock file, no global install."""
    node, npm = node_and_npm()
    install = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PACKAGE, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    tsc = subprocess.run(
        [node, "node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.json"],
        cwd=PACKAGE, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert tsc.returncode == 0, tsc.stdout[-4000:]


def test_the_client_has_a_message_for_every_result_code_the_backend_catalogues() -> None:
    """The mini-program's messages follow the backend's catalogue: every 1.0 identify_ret and 2.0
    verify_ret code, and the same codes counted as not finished."""
    import json

    from wxface.wechat.catalogue import CodeKind, all_codes, is_final

    node, _ = node_and_npm()
    script = (
        "const m = require('./lib/messages');"
        "console.log(JSON.stringify({callback: Object.keys(m.CALLBACK), verify: Object.keys(m.VERIFY_RET),"
        " unfinished: [1, 2].map((v) => [10005, 10300].filter((c) => m.notFinished(v, c)))}))"
    )
    out = subprocess.run(
        [node, "-e", script], cwd=PACKAGE, capture_output=True, text=True, timeout=60, check=True
    )
    shown = json.loads(out.stdout)
    for kind, key in ((CodeKind.IDENTIFY_RET, "callback"), (CodeKind.VERIFY_RET, "verify")):
        catalogued = {str(i.code) for i in all_codes() if i.kind is kind}
        assert catalogued <= set(shown[key]), (kind, sorted(catalogued - set(shown[key])))
    assert shown["unfinished"] == [
        [c for c in (10005, 10300) if not is_final(kind, c)]
        for kind in (CodeKind.IDENTIFY_RET, CodeKind.VERIFY_RET)
    ]
