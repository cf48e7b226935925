"""Per-container wiring: every client and store is created once, on first use, never at import."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from .dal import aws
from .dal.table import Table
from .domain.keys_material import DataKey, SigningKey, load_data_key, load_signing_keys
from .domain.tokens import SharedTokenReader
from .observability import wechat_event
from .settings import settings
from .wechat.client import ClientConfig, WeChatClient


@cache
def table() -> Table:
    return Table(settings().table_name)


def data_key() -> DataKey:
    return load_data_key(settings().hmac_key_param)


def signing_keys() -> tuple[SigningKey, ...]:
    return load_signing_keys(settings().signing_key_param)


def prefetch_for_api() -> None:
    """What an API container's first request reads, in one SSM call instead of three."""
    from .dal.params import prefetch_secure
    from .domain.keys_material import KEY_CACHE_S

    s = settings()
    prefetch_secure(
        {
            s.signing_key_param: KEY_CACHE_S,
            s.hmac_key_param: KEY_CACHE_S,
            s.access_token_param: s.token_cache_s,
        }
    )


def invoke_refresher(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the refresher now and wait for it (Lambda Invoke, RequestResponse)."""
    resp = aws.lambda_().invoke(
        FunctionName=settings().refresher_function,
        InvocationType="RequestResponse",
        Payload=json.dumps(payload).encode(),
    )
    if resp.get("FunctionError"):
        return {"ok": False}
    answer = json.loads(resp["Payload"].read() or b"{}")
    return answer if isinstance(answer, dict) else {"ok": False}


@cache
def wechat() -> WeChatClient:
    """The API functions' client: tokens come from SSM, written by the refresher."""
    s = settings()
    reader = SharedTokenReader(s.access_token_param, table(), invoke_refresher, cache_s=s.token_cache_s)
    return WeChatClient(ClientConfig.from_env(), tokens=reader, observer=wechat_event)


@cache
def wechat_without_token() -> WeChatClient:
    """For calls that authenticate with the AppSecret (stable_token, jscode2session)."""
    return WeChatClient(ClientConfig.from_env(), observer=wechat_event)


def app_secret() -> str:
    from .dal.params import read_secure

    return read_secure(settings().app_secret_param, max_age=60)
