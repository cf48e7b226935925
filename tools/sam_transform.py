"""Print template.yaml transformed by the SAM translator (offline), as JSON.

Runs in the tools virtualenv (.venv-tools), whose aws-sam-translator is the one SAM CLI uses:
``.venv-tools/bin/python tools/sam_transform.py template.yaml [Param=Value ...]``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str
from samtranslator.parser.parser import Parser
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names managed policies by ARN or SAM name only; nothing to look up online."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> int:
    # The translator asks boto3 for a region; nothing is sent anywhere.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    path = Path(sys.argv[1])
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    template, errors = decode_str(path.read_text(encoding="utf-8"))
    if errors:
        print(errors, file=sys.stderr)
        return 1
    # As `sam deploy` uploads code first: local paths become S3 locations.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://deployment-bucket/{props[key].strip('/')}.zip"
    params: dict[str, Any] = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", **overrides}
    output = transform(template, params, NoManagedPolicies(), Parser())  # type: ignore[no-untyped-call]
    json.dump(output, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
