"""`make deploy`, `make sync`, `make logs` and `make delete` check before they build or ask:
region, credentials, (deploy) the runtime's Python, a first deployment's two answers, the
AppSecret in SSM; each failure one clear message and its own exit code. Without AWS: no
credentials at all, credentials that do not work, and the local AWS endpoint (moto) standing in
for STS and SSM."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import preflight  # type: ignore[import-not-found]  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

RUNTIME = os.path.dirname(sys.executable)  # any dir with a python3.13 will do; faked below
SAMCONFIG = '# comments stay\n[dev.deploy.parameters]\ncapabilities = "CAPABILITY_IAM"\nparameter_overrides = "Stage=dev"\n'


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def no_aws(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with no AWS configuration at all (no variables, no files)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        **extra,
    )
    return env


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(SAMCONFIG)
    return path


@pytest.fixture
def runtime(tmp_path: Path) -> str:
    where = tmp_path / "runtime"
    where.mkdir()
    (where / "python3.13").symlink_to(sys.executable)
    return str(where)


def run(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str, **kwargs: Any) -> int:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    code: int = preflight.main(list(args), **kwargs)
    return code


def test_no_region_is_one_message_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for what in ("access", "deploy"):
        assert run(monkeypatch, no_aws(tmp_path), what, "dev", stdin=io.StringIO(), config=config) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no AWS region" in err and "AWS_REGION" in err


def test_no_credentials_is_one_message_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = no_aws(tmp_path, AWS_REGION="ap-east-1")
    assert run(monkeypatch, env, "access", "dev", stdin=io.StringIO(), config=config) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no AWS credentials found" in err and "aws configure" in err


def test_credentials_that_do_not_work_are_exit_3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = no_aws(
        tmp_path,
        AWS_REGION="ap-east-1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # nothing listens: as an unreachable STS
        AWS_MAX_ATTEMPTS="1",
    )
    assert run(monkeypatch, env, "access", "dev", stdin=io.StringIO(), config=config) == 3
    assert "do not work in ap-east-1" in capsys.readouterr().err


def moto(tmp_path: Path, endpoint: str) -> dict[str, str]:
    return no_aws(
        tmp_path,
        AWS_REGION="ap-east-1",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_ENDPOINT_URL=endpoint,
    )


def test_a_first_deployment_without_a_terminal_says_what_to_add(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, runtime: str, moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = moto(tmp_path, moto_endpoint)
    code = run(
        monkeypatch, env, "deploy", "dev", "--runtime-python-dir", runtime, stdin=io.StringIO(), config=config
    )
    assert code == 6
    assert "WeChatAppId=wx" in capsys.readouterr().err
    assert config.read_text() == SAMCONFIG  # nothing written


def test_a_first_deployment_asks_two_questions_saves_them_and_checks_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, runtime: str, moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = moto(tmp_path, moto_endpoint)
    answers = iter(["not-an-appid", "wx0123456789abcdef", "/acme/face/app-secret"])
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return next(answers)

    monkeypatch.setattr(preflight, "ask_on_terminal", ask)
    code = run(monkeypatch, env, "deploy", "dev", "--runtime-python-dir", runtime, stdin=Tty(), config=config)
    assert code == 4  # the secret is not in SSM yet
    out = capsys.readouterr()
    assert out.out == ""  # standard output is the region's alone (make reads it); the rest is stderr
    err = out.err
    assert "aws ssm put-parameter --name /acme/face/app-secret --type SecureString" in err
    assert len(asked) == 3  # the AppID (asked again when malformed) and the parameter's name
    saved = config.read_text()
    assert saved.startswith("# comments stay")
    assert preflight.overrides("dev", config) == {
        "Stage": "dev",
        "WeChatAppId": "wx0123456789abcdef",
        "WeChatAppSecretParamName": "/acme/face/app-secret",
    }
    # The operator puts the secret; the next run asks nothing and is ready.
    boto3.client("ssm", endpoint_url=moto_endpoint, region_name="ap-east-1", aws_access_key_id="x",
                 aws_secret_access_key="x").put_parameter(
        Name="/acme/face/app-secret", Value="s", Type="SecureString", Overwrite=True
    )  # fmt: skip
    monkeypatch.setattr(preflight, "ask_on_terminal", lambda q: pytest.fail(f"asked again: {q}"))
    code = run(monkeypatch, env, "deploy", "dev", "--runtime-python-dir", runtime, stdin=Tty(), config=config)
    assert code == 0
    out = capsys.readouterr()
    assert "dev: ap-east-1, as arn:aws" in out.err
    assert out.out == "ap-east-1\n"  # what make hands the SAM CLI as --region


def test_a_region_asked_in_a_terminal_is_saved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, runtime: str, moto_endpoint: str
) -> None:
    env = moto(tmp_path, moto_endpoint)
    del env["AWS_REGION"]
    answers = iter(["ap-east-1", "wx0123456789abcdef", ""])
    monkeypatch.setattr(preflight, "ask_on_terminal", lambda q: next(answers))
    run(monkeypatch, env, "deploy", "dev", "--runtime-python-dir", runtime, stdin=Tty(), config=config)
    assert 'region = "ap-east-1"' in config.read_text()
    assert preflight.overrides("dev", config)["WeChatAppSecretParamName"] == "/wechat-face/app-secret"


def test_without_the_runtimes_python_deploy_stops_before_building(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, moto_endpoint: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = moto(tmp_path, moto_endpoint)
    code = run(
        monkeypatch, env, "deploy", "dev", "--runtime-python-dir", "", stdin=io.StringIO(), config=config
    )
    assert code == 5 and "python3.13" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["deploy", "logs", "delete"])
def test_make_fails_fast_without_credentials_before_building_or_asking(target: str, tmp_path: Path) -> None:
    env = no_aws(tmp_path, AWS_REGION="ap-east-1")
    out = subprocess.run(
        ["make", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode != 0
    assert "make: no AWS credentials found" in out.stderr
    assert (
        "sam build" not in out.stdout + out.stderr and "Confirm" not in out.stdout
    )  # nothing built, nothing asked
