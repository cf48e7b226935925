"""Function settings: the environment the template sets, parsed once per container into a
msgspec Struct (its constraints checked, numbers read from their strings). This is the one place the layer reads its environment (Powertools reads its own
POWERTOOLS_* variables); everything else takes a :class:`Settings`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct, field

from .wechat.endpoints import (
    DEFAULT_BASE_URL,
    DEFAULT_FALLBACK_BASE_URL,
    P_GETINFO,
    P_GETUSERIDKEY,
    P_GETVERIFYID,
    P_QUERYVERIFYINFO,
)

# Daily quotas the guard assumes when WECHAT_DAILY_QUOTAS does not say: set your account's own
# (the mini-program admin console shows them). jscode2session has none: counted, never refused.
DEFAULT_DAILY_QUOTAS: Mapping[str, int] = {
    P_GETUSERIDKEY: 100_000,
    P_GETINFO: 100_000,
    P_GETVERIFYID: 100_000,
    P_QUERYVERIFYINFO: 100_000,
}
DAY_S = 86400


class SettingsError(RuntimeError):
    """A setting is missing or malformed: a deployment mistake, reported at first use."""


class Settings(Struct, frozen=True, kw_only=True):
    app_id: str = ""
    app_secret_param: str = ""  # SSM SecureString the operator creates
    param_path: str  # this stack's SSM path: access token, signing and HMAC keys live under it
    table_name: str = ""
    face_api_version: Literal[1, 2] = 2
    refresher_function: str = ""
    session_ttl_s: Annotated[int, Meta(ge=60, le=86400)] = 3600  # LIMITS#<owner> outlives the longest session
    key_limit_per_hour: Annotated[int, Meta(ge=1)] = 10
    lookup_window_s: Annotated[int, Meta(ge=0)] = 900  # after a key's expiry: a late face check's lookup
    result_retention_days: Annotated[int, Meta(ge=1)] = 30
    token_cache_s: Annotated[int, Meta(ge=1)] = (
        60  # shorter than WeChat's 5-minute overlap of old and new tokens
    )
    lookup_limit_per_hour: Annotated[int, Meta(ge=1)] = 60
    # Refused wx.login codes per client address per hour before its logins are slowed to
    # session_slowed_per_minute (carrier NAT puts many users behind one address: slowed, not shut).
    session_limit_per_address: Annotated[int, Meta(ge=1)] = 600
    session_slowed_per_minute: Annotated[int, Meta(ge=1)] = 30
    wechat_daily_quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_QUOTAS))
    quota_alarm_percent: Annotated[int, Meta(ge=1)] = 80
    quota_refuse_percent: Annotated[int, Meta(ge=1)] = 95
    # The hourly budget per WeChat endpoint: this many even hourly shares of the daily quota (0: none).
    wechat_hourly_budget_share: Annotated[float, Meta(ge=0)] = 3.0
    audit_retention_days: Annotated[int, Meta(ge=1)] = 180
    # Signing and data keys; also the signing key's activation delay, and the bound within which an
    # emergency rotation reaches every container (read with the access token: one SSM call).
    key_cache_s: Annotated[int, Meta(ge=1)] = 60
    secret_cache_s: Annotated[int, Meta(ge=1)] = 60  # the AppSecret
    ssm_kms_key_id: str = ""  # the stack's customer-managed key for SSM writes; empty: AWS-managed
    # The WeChat client (docs/configuration.md, "The WeChat client's settings").
    wechat_base_url: str = DEFAULT_BASE_URL
    wechat_fallback_base_url: str | None = DEFAULT_FALLBACK_BASE_URL  # "none" or empty: no fallback
    wechat_connect_timeout: Annotated[float, Meta(gt=0)] = 2.0
    wechat_read_timeout: Annotated[float, Meta(gt=0)] = 5.0
    wechat_total_budget: Annotated[float, Meta(gt=0)] = 10.0
    # The business's events (EventBridge): the bus, and how long an event EventBridge did not take
    # waits before the emitter sends it again (doubled per failure, up to 15 minutes).
    event_bus_name: str = "default"
    event_retry_s: Annotated[int, Meta(ge=1, le=3600)] = 60
    event_retry_max_s: Annotated[int, Meta(ge=1, le=3600)] = 900  # the longest wait between two attempts
    # 2.0: the sweep's first look at a key whose result nobody looked up, after its issue.
    result_sweep_after_s: Annotated[int, Meta(ge=0)] = 600
    # Who names the identity checked (IdentitySource): typed by the user, the business's orders, or
    # either; and how long keys can be issued from an order (OrderTtlSeconds).
    identity_source: Literal["user", "business", "either"] = "either"
    order_ttl_s: Annotated[int, Meta(ge=60, le=30 * DAY_S)] = 86400
    # Partitions of the outbox and of the pending checks (QueueShards; docs/capacity.md).
    queue_shards: Literal[1, 2, 4, 8, 16, 32, 64] = 8
    # 2.0: runs of the sweep side by side each minute (SweepParts), at most queue_shards.
    sweep_parts: Literal[1, 2, 4, 8, 16, 32, 64] = 1

    def __post_init__(self) -> None:
        if not self.param_path.startswith("/"):
            raise ValueError("an absolute SSM path such as /face-verify/prod - at `$.param_path`")

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

    @property
    def sealing_key_param(self) -> str:
        return f"{self.param_path}/data-sealing-key"

    @property
    def order_key_param(self) -> str:
        """The order-sealing key: the orders' identities and photo tickets (the orders function
        and the keys function alone read it)."""
        return f"{self.param_path}/order-sealing-key"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parsed from ``env`` (the process environment by default); an empty variable is unset.
        A malformed one is a :class:`SettingsError` naming the variable, never its value."""
        env = os.environ if env is None else env
        given = {field: env[name].strip() for field, name in ENVIRONMENT.items() if env.get(name, "").strip()}
        if "WECHAT_FALLBACK_BASE_URL" in env and not env["WECHAT_FALLBACK_BASE_URL"].strip():
            given["wechat_fallback_base_url"] = "none"  # set but empty: no fallback host
        data: dict[str, Any] = dict(given)
        try:
            if "param_path" in data:
                data["param_path"] = data["param_path"].rstrip("/") or "/"
            if str(data.get("wechat_fallback_base_url", "")).lower() == "none":
                data["wechat_fallback_base_url"] = None
            if "wechat_daily_quotas" in data:
                data["wechat_daily_quotas"] = _quotas(data["wechat_daily_quotas"])
            # Lax conversion: the environment's strings read as the numbers they spell.
            return msgspec.convert(data, type=cls, strict=False)
        except (msgspec.ValidationError, ValueError) as err:
            raise SettingsError(f"malformed settings: {_named(str(err))}") from None


def _quotas(value: str) -> dict[str, int]:
    try:
        given = json.loads(value)
    except ValueError:
        given = None
    if not isinstance(given, dict) or not all(
        isinstance(k, str) and k.startswith("/") and type(v) is int and v >= 0 for k, v in given.items()
    ):
        raise ValueError(
            "a JSON object of endpoint path to a count of 0 or more - at `$.wechat_daily_quotas`"
        )
    return {**DEFAULT_DAILY_QUOTAS, **given}


def _named(message: str) -> str:
    """msgspec's message with the field named by its environment variable (never its value)."""
    missing = re.match(r"Object missing required field `(\w+)`", message)
    if missing:
        return f"{ENVIRONMENT.get(missing.group(1), missing.group(1))} (required)"
    at = re.search(r"^(?P<what>.*) - at `\$\.(?P<field>\w+)`$", message)
    if at:
        what = re.sub(r"^Invalid enum value .*", "not one of the allowed values", at.group("what"))
        return f"{ENVIRONMENT.get(at.group('field'), at.group('field'))} ({what})"
    return message


# Each setting's environment variable, as template.yaml sets it.
ENVIRONMENT: Final[dict[str, str]] = {
    "app_id": "WECHAT_APP_ID",
    "app_secret_param": "WECHAT_APP_SECRET_PARAM",
    "param_path": "PARAM_PATH",
    "table_name": "TABLE_NAME",
    "face_api_version": "FACE_API_VERSION",
    "refresher_function": "REFRESHER_FUNCTION",
    "session_ttl_s": "SESSION_TTL_SECONDS",
    "key_limit_per_hour": "KEY_LIMIT_PER_HOUR",
    "lookup_window_s": "LOOKUP_WINDOW_SECONDS",
    "result_retention_days": "RESULT_RETENTION_DAYS",
    "token_cache_s": "TOKEN_CACHE_SECONDS",
    "lookup_limit_per_hour": "LOOKUP_LIMIT_PER_HOUR",
    "session_limit_per_address": "SESSION_LIMIT_PER_ADDRESS_PER_HOUR",
    "session_slowed_per_minute": "SESSION_SLOWED_PER_MINUTE",
    "wechat_daily_quotas": "WECHAT_DAILY_QUOTAS",
    "quota_alarm_percent": "QUOTA_ALARM_PERCENT",
    "quota_refuse_percent": "QUOTA_REFUSE_PERCENT",
    "audit_retention_days": "AUDIT_RETENTION_DAYS",
    "key_cache_s": "KEY_CACHE_SECONDS",
    "wechat_hourly_budget_share": "WECHAT_HOURLY_BUDGET_SHARE",
    "secret_cache_s": "SECRET_CACHE_SECONDS",
    "ssm_kms_key_id": "SSM_KMS_KEY_ID",
    "wechat_base_url": "WECHAT_BASE_URL",
    "wechat_fallback_base_url": "WECHAT_FALLBACK_BASE_URL",
    "wechat_connect_timeout": "WECHAT_CONNECT_TIMEOUT",
    "wechat_read_timeout": "WECHAT_READ_TIMEOUT",
    "wechat_total_budget": "WECHAT_TOTAL_BUDGET",
    "event_bus_name": "EVENT_BUS_NAME",
    "event_retry_s": "EVENT_RETRY_SECONDS",
    "event_retry_max_s": "EVENT_RETRY_MAX_SECONDS",
    "result_sweep_after_s": "RESULT_SWEEP_AFTER_SECONDS",
    "identity_source": "IDENTITY_SOURCE",
    "order_ttl_s": "ORDER_TTL_SECONDS",
    "queue_shards": "QUEUE_SHARDS",
    "sweep_parts": "SWEEP_PARTS",
}


@cache
def settings() -> Settings:
    """This container's settings (read once)."""
    return Settings.from_env()
