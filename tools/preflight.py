"""Checks before `make deploy`, `make sync`, `make logs` and `make delete` touch AWS, each failing
with one clear message (and its own exit code) instead of a build and 48 questions first.

    python tools/preflight.py access ENV                 # region, then credentials
    python tools/preflight.py deploy ENV --runtime-python-dir DIR
        # region, credentials, the Lambda runtime's Python (sam build), a first deployment's few
        # answers (saved in samconfig.toml), then the AppSecret parameter in SSM

Exit codes: 0 ready; 2 no region; 3 no usable credentials; 4 the AppSecret parameter is missing;
5 no python3.13 for sam build; 6 a first deployment's answers are needed but there is no terminal
to ask them on. A first deployment in a terminal asks for the region (if none is set), then, once
the credentials work, for the AppID and the AppSecret's parameter name. The region comes as the SAM CLI finds it: samconfig.toml's ``region`` for ENV,
else ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else the profile's; it is printed alone on standard
output (everything else goes to standard error) and make passes it to the SAM CLI (``--region``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
SAMCONFIG = ROOT / "samconfig.toml"
DEFAULT_SECRET_PARAM = "/wechat-face/app-secret"  # noqa: S105 - a parameter name (the template's default)
APPID = re.compile(r"^wx[0-9a-f]{16}$")

NO_REGION, NO_CREDENTIALS, NO_SECRET, NO_RUNTIME, NO_TERMINAL = 2, 3, 4, 5, 6


class NotReady(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def section(env: str, config: Path) -> dict[str, Any]:
    data = tomllib.loads(config.read_text()) if config.exists() else {}
    found: dict[str, Any] = data.get(env, {})
    return found


def overrides(env: str, config: Path) -> dict[str, str]:
    """The ``parameter_overrides`` of ENV's deploy section, as a mapping."""
    raw = section(env, config).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    text = " ".join(raw) if isinstance(raw, list) else str(raw)
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


def region_of(env: str, config: Path, session: Any) -> str:
    params = section(env, config)
    configured = params.get("deploy", {}).get("parameters", {}).get("region") or params.get("global", {}).get(
        "parameters", {}
    ).get("region")
    region = configured or os.environ.get("AWS_REGION") or session.region_name
    if not region:
        raise NotReady(
            NO_REGION,
            "no AWS region: set AWS_REGION (e.g. export AWS_REGION=ap-east-1; cn-north-1 or cn-northwest-1 "
            "for the China partition), give your profile a region, or a first `make deploy` in a terminal "
            'asks and saves it in samconfig.toml (README, "Choose the region")',
        )
    return str(region)


def caller_identity(session: Any, region: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    if session.get_credentials() is None:
        raise NotReady(
            NO_CREDENTIALS,
            "no AWS credentials found: run `aws configure` (or `aws sso login`), or set AWS_PROFILE, or "
            'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (README, "What you need")',
        )
    try:
        arn: str = session.client("sts", region_name=region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as err:
        raise NotReady(
            NO_CREDENTIALS,
            f"the AWS credentials found do not work in {region} ({type(err).__name__}): check them with "
            "`aws sts get-caller-identity`, or choose another profile (AWS_PROFILE)",
        ) from None
    return arn


def check_secret(session: Any, region: str, name: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session.client("ssm", region_name=region).get_parameter(Name=name, WithDecryption=False)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            raise NotReady(
                NO_SECRET,
                f"the AppSecret parameter {name} is not in SSM Parameter Store in {region}: put it first, "
                f"`aws ssm put-parameter --name {name} --type SecureString --value <AppSecret>` "
                '(README, "Put the AppSecret into SSM")',
            ) from None
        raise NotReady(
            NO_SECRET,
            f"cannot read the AppSecret parameter {name} in {region} ({code}): check your permissions",
        ) from None
    except BotoCoreError as err:
        raise NotReady(NO_SECRET, f"cannot reach SSM in {region} ({type(err).__name__})") from None


def check_runtime(runtime_python_dir: str) -> None:
    if not runtime_python_dir or not (Path(runtime_python_dir) / "python3.13").exists():
        raise NotReady(
            NO_RUNTIME,
            "sam build needs python3.13 (the functions' Lambda runtime) on PATH: install it (e.g. "
            "`pyenv install 3.13`, or your system's python3.13 package) and run make deploy again",
        )


def first_answers(
    env: str, config: Path, region: str, ask: Callable[[str], str], interactive: bool
) -> dict[str, str]:
    """What a first deployment of ENV needs and samconfig.toml lacks: the AppID and the
    AppSecret's parameter name. The rest has defaults (docs/configuration.md)."""
    given = overrides(env, config)
    wanted: dict[str, str] = {}
    if "WeChatAppId" in given:
        return wanted
    if not interactive:
        raise NotReady(
            NO_TERMINAL,
            f"a first deployment of '{env}' needs the mini-program's AppID: run make deploy in a terminal, or "
            f"add WeChatAppId=wx... to parameter_overrides in samconfig.toml's [{env}.deploy.parameters]",
        )
    say(f"First deployment of '{env}' in {region}: two answers, saved in samconfig.toml (every other setting")
    say("has a default: docs/configuration.md).")
    appid = ask("The mini-program's AppID (wx + 16 hex digits): ").strip()
    while not APPID.fullmatch(appid):
        appid = ask("  an AppID is wx and 16 hex digits, e.g. wx0123456789abcdef: ").strip()
    wanted["WeChatAppId"] = appid
    if "WeChatAppSecretParamName" not in given:
        param = ask(f"The SSM parameter holding the AppSecret [{DEFAULT_SECRET_PARAM}]: ").strip()
        wanted["WeChatAppSecretParamName"] = param or DEFAULT_SECRET_PARAM
    return wanted


def say(line: str) -> None:
    """To the terminal (standard error): standard output carries only the region, for make."""
    print(line, file=sys.stderr, flush=True)


def ask_on_terminal(question: str) -> str:
    sys.stderr.write(question)
    sys.stderr.flush()
    return input()


def save(env: str, config: Path, answers: dict[str, str]) -> None:
    """The answers written into ENV's deploy section of samconfig.toml, comments kept."""
    text = config.read_text()
    header = f"[{env}.deploy.parameters]"
    if header not in text:
        text += f'\n{header}\ncapabilities = "CAPABILITY_IAM"\nconfirm_changeset = true\nresolve_s3 = true\n'
    start = text.index(header) + len(header)
    end = text.find("\n[", start)
    end = len(text) if end == -1 else end
    body = text[start:end]
    params = {k: v for k, v in answers.items() if k != "region"}
    if params:
        added = " ".join(f"{k}={v}" for k, v in params.items())
        match = re.search(r'^parameter_overrides = "(.*)"$', body, flags=re.M)
        if match:
            body = (
                body[: match.start()]
                + f'parameter_overrides = "{match.group(1)} {added}"'
                + body[match.end() :]
            )
        else:
            body = body.rstrip("\n") + f'\nparameter_overrides = "{added}"\n'
    if "region" in answers:
        body = body.rstrip("\n") + f'\nregion = "{answers["region"]}"\n'
    config.write_text(text[:start] + body + text[end:])


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, config: Path = SAMCONFIG) -> int:
    parser = argparse.ArgumentParser(prog="tools/preflight.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["access", "deploy"])
    parser.add_argument("env")
    parser.add_argument("--runtime-python-dir", default="")
    args = parser.parse_args(argv)
    stdin = stdin or sys.stdin

    import boto3

    session = boto3.Session()
    interactive = stdin.isatty()
    try:
        try:
            region = region_of(args.env, config, session)
        except NotReady:
            if args.what != "deploy" or not interactive:
                raise
            region = ask_on_terminal(
                "AWS region (e.g. ap-east-1; cn-north-1 for the China partition): "
            ).strip()
            if not region:
                raise
            save(args.env, config, {"region": region})
        arn = caller_identity(session, region)
        if args.what == "deploy":
            check_runtime(args.runtime_python_dir)
            answers = first_answers(args.env, config, region, ask_on_terminal, interactive)
            if answers:
                save(args.env, config, answers)
            name = overrides(args.env, config).get("WeChatAppSecretParamName", DEFAULT_SECRET_PARAM)
            check_secret(session, region, name)
    except NotReady as err:
        print(f"make: {err}", file=sys.stderr)
        return err.code
    say(f"{args.env}: {region}, as {arn}")
    print(region)  # for make: the SAM CLI gets the same region (--region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
