"""Function settings, read once per container from the environment the template sets."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

# Daily quotas the guard assumes when WECHAT_DAILY_QUOTAS does not say: set your account's own
# (the mini-program admin console shows them). jscode2session has none: counted, never refused.
DEFAULT_DAILY_QUOTAS: Mapping[str, int] = {
    "/cityservice/face/identify/getuseridkey": 100_000,
    "/cityservice/face/identify/getinfo": 100_000,
    "/cityservice/face/identify/getverifyid": 100_000,
    "/cityservice/face/identify/queryverifyinfo": 100_000,
}


DAY_S = 86400


class SettingsError(RuntimeError):
    """A setting is missing or malformed: a deployment mistake, reported at first use."""


def _int(env: Mapping[str, str], key: str, default: int, minimum: int = 1) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key} must be an integer") from None
    if value < minimum:
        raise SettingsError(f"{key} must be at least {minimum}")
    return value


def _quotas(env: Mapping[str, str]) -> dict[str, int]:
    raw = env.get("WECHAT_DAILY_QUOTAS", "").strip()
    quotas = dict(DEFAULT_DAILY_QUOTAS)
    if not raw:
        return quotas
    try:
        given = json.loads(raw)
    except json.JSONDecodeError:
        raise SettingsError("WECHAT_DAILY_QUOTAS must be a JSON object of endpoint path to count") from None
    if not isinstance(given, dict) or not all(
        isinstance(k, str) and k.startswith("/") and isinstance(v, int) and v >= 0 for k, v in given.items()
    ):
        raise SettingsError("WECHAT_DAILY_QUOTAS must map endpoint paths to counts of 0 or more")
    quotas.update(given)
    return quotas


@dataclass(frozen=True)
class Settings:
    app_id: str
    app_secret_param: str  # SSM SecureString the operator creates
    param_path: str  # this stack's SSM path: access token, signing and HMAC keys live under it
    table_name: str
    face_api_version: Literal[1, 2]
    refresher_function: str
    session_ttl_s: int = 3600
    key_limit_per_hour: int = 10
    lookup_window_s: int = 24 * 3600
    result_retention_days: int = 30
    token_cache_s: int = 60  # shorter than WeChat's 5-minute overlap of old and new tokens
    lookup_limit_per_hour: int = 60
    session_limit_per_address: int = 600  # per hour; carrier NAT puts many users behind one address
    wechat_daily_quotas: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_QUOTAS))
    quota_alarm_percent: int = 80
    quota_refuse_percent: int = 95
    audit_retention_days: int = 180
    key_cache_s: int = 300  # signing and data keys; also the signing key's activation delay
    secret_cache_s: int = 60  # the AppSecret

    @property
    def result_retention_s(self) -> int:
        return self.result_retention_days * DAY_S

    @property
    def audit_retention_s(self) -> int:
        return self.audit_retention_days * DAY_S

    @property
    def access_token_param(self) -> str:
        return f"{self.param_path}/access-token"

    @property
    def signing_key_param(self) -> str:
        return f"{self.param_path}/session-signing-key"

    @property
    def hmac_key_param(self) -> str:
        return f"{self.param_path}/data-hmac-key"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        version = env.get("FACE_API_VERSION", "2").strip()
        if version not in ("1", "2"):
            raise SettingsError("FACE_API_VERSION must be 1 or 2")
        path = env.get("PARAM_PATH", "").strip().rstrip("/")
        if not path.startswith("/"):
            raise SettingsError("PARAM_PATH must be an absolute SSM path such as /face-verify/prod")
        return cls(
            app_id=env.get("WECHAT_APP_ID", "").strip(),
            app_secret_param=env.get("WECHAT_APP_SECRET_PARAM", "").strip(),
            param_path=path,
            table_name=env.get("TABLE_NAME", "").strip(),
            face_api_version=1 if version == "1" else 2,
            refresher_function=env.get("REFRESHER_FUNCTION", "").strip(),
            session_ttl_s=_int(env, "SESSION_TTL_SECONDS", 3600, 60),
            key_limit_per_hour=_int(env, "KEY_LIMIT_PER_HOUR", 10),
            lookup_window_s=_int(env, "LOOKUP_WINDOW_SECONDS", 24 * 3600, 0),
            result_retention_days=_int(env, "RESULT_RETENTION_DAYS", 30),
            token_cache_s=_int(env, "TOKEN_CACHE_SECONDS", 60),
            lookup_limit_per_hour=_int(env, "LOOKUP_LIMIT_PER_HOUR", 60),
            session_limit_per_address=_int(env, "SESSION_LIMIT_PER_ADDRESS_PER_HOUR", 600),
            wechat_daily_quotas=_quotas(env),
            quota_alarm_percent=_int(env, "QUOTA_ALARM_PERCENT", 80),
            quota_refuse_percent=_int(env, "QUOTA_REFUSE_PERCENT", 95),
            audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", 180),
            key_cache_s=_int(env, "KEY_CACHE_SECONDS", 300),
            secret_cache_s=_int(env, "SECRET_CACHE_SECONDS", 60),
        )


@cache
def settings() -> Settings:
    """This container's settings (read once)."""
    return Settings.from_env()
