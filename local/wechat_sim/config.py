"""Simulator settings, from the environment, with documented defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_APPID = "wx0000000000000001"
DEFAULT_SECRET = "sim-app-secret"  # noqa: S105 - the simulator's documented, public test secret

# Daily call quotas per endpoint (0 = unlimited). /cgi-bin/token's 2,000 is the official
# accounts' figure in WeChat's docs; stable_token allows 500,000 a day and 10,000 a minute.
DEFAULT_DAILY_QUOTAS: dict[str, int] = {
    "/cgi-bin/token": 2000,
    "/cgi-bin/stable_token": 500_000,
    "/sns/jscode2session": 0,
    "/cityservice/face/identify/getuseridkey": 100_000,
    "/cityservice/face/identify/getinfo": 100_000,
    "/cityservice/face/identify/getverifyid": 100_000,
    "/cityservice/face/identify/queryverifyinfo": 100_000,
    "/cityservice/face/identify/getimage": 100_000,
}
DEFAULT_MINUTE_QUOTAS: dict[str, int] = {"/cgi-bin/stable_token": 10_000}


@dataclass(frozen=True)
class SimConfig:
    appid: str = DEFAULT_APPID
    secret: str = DEFAULT_SECRET
    token_ttl: int = 7200  # access token lifetime
    token_overlap: int = 300  # /cgi-bin/token grace; stable_token renews this long before expiry
    force_refresh_per_day: int = 20
    force_refresh_interval: int = 30
    login_code_ttl: int = 300
    key_ttl: int = 3600  # user_id_key and verify_id
    # How long getinfo answers for a 1.0 verify_result: about 5 minutes (WeChat staff on the
    # developer community), then 84001.
    verify_result_ttl: int = 300
    # Endpoints WeChat has not enabled for the app: 48001 (getimage is enabled only on request).
    disabled: frozenset[str] = frozenset()
    daily_quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_QUOTAS))
    minute_quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MINUTE_QUOTAS))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimConfig:
        """``WECHAT_SIM_APPID``, ``WECHAT_SIM_SECRET``, ``WECHAT_SIM_KEY_TTL`` (seconds a
        user_id_key / verify_id lives, default 3600), ``WECHAT_SIM_DAILY_QUOTAS`` /
        ``WECHAT_SIM_MINUTE_QUOTAS``: JSON objects of path to count, merged over the defaults
        (0 = unlimited), and ``WECHAT_SIM_DISABLED_APIS``: a JSON list of paths WeChat has not
        enabled for the app (48001)."""
        env = os.environ if env is None else env
        return cls(
            appid=env.get("WECHAT_SIM_APPID", "").strip() or DEFAULT_APPID,
            secret=env.get("WECHAT_SIM_SECRET", "").strip() or DEFAULT_SECRET,
            key_ttl=_positive(env, "WECHAT_SIM_KEY_TTL", 3600),
            daily_quotas=_quotas(env, "WECHAT_SIM_DAILY_QUOTAS", DEFAULT_DAILY_QUOTAS),
            minute_quotas=_quotas(env, "WECHAT_SIM_MINUTE_QUOTAS", DEFAULT_MINUTE_QUOTAS),
            disabled=_paths(env, "WECHAT_SIM_DISABLED_APIS"),
        )


def _paths(env: Mapping[str, str], key: str) -> frozenset[str]:
    raw = env.get(key, "").strip()
    if not raw:
        return frozenset()
    try:
        paths = json.loads(raw)
    except json.JSONDecodeError:
        paths = None
    if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
        raise ValueError(
            f'{key} must be a JSON list of WeChat paths, e.g. ["/cityservice/face/identify/getimage"]'
        )
    return frozenset(paths)


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{key} must be a positive number of seconds")
    return int(raw)


def _quotas(env: Mapping[str, str], key: str, defaults: dict[str, int]) -> dict[str, int]:
    quotas = dict(defaults)
    raw = env.get(key, "").strip()
    if raw:
        try:
            extra = json.loads(raw)
        except json.JSONDecodeError:
            extra = None
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in extra.items()
        ):
            raise ValueError(f"{key} must be a JSON object of path to a count (0 = unlimited)")
        quotas.update(extra)
    return quotas
