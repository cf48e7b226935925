"""``python tools/samconfig.py needs-guided ENV``: exit 0 when samconfig.toml's ENV section cannot
deploy on its own yet (no WeChatAppId saved, the template's one parameter without a default), so
``make deploy`` runs ``sam deploy --guided`` the first time and plain ``sam deploy`` after."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def needs_guided(env: str, config: Path = ROOT / "samconfig.toml") -> bool:
    data = tomllib.loads(config.read_text()) if config.exists() else {}
    deploy = data.get(env, {}).get("deploy", {}).get("parameters", {})
    overrides = deploy.get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    return "WeChatAppId=" not in overrides


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "needs-guided":
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if needs_guided(argv[1]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
