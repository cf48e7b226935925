"""Per-container wiring: every client, store and use case is created once, on first use, never at
import, and handed what it needs (adapters of the ports it owns), so that a request runs straight
down from the handler. The use cases hold the data key as first read: it never rotates (the
signing keys do, and are read through :class:`StackKeys` on every use)."""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

from .api.checks import EdgeChecks
from .dal import aws
from .dal.params import Prefetch, SsmParams
from .dal.refresher import LambdaRefresher
from .dal.table import Table
from .domain.limits import QuotaGuard, QuotaPolicy
from .domain.stack_keys import DataKey, StackKeys
from .domain.tokens import AppSecret, SharedTokenReader
from .observability import aws_latency, quota_used, wechat_event, wechat_latency
from .settings import settings

# Every AWS call of this container's clients is timed (latency metrics, per service and operation).
aws.observe_calls(aws_latency)

if TYPE_CHECKING:
    from .domain.events import Outbox
    from .domain.idempotency import IdempotentCalls
    from .domain.issuance import KeyIssuance
    from .domain.login import Login
    from .domain.orders import Orders
    from .domain.results import ResultLookup
    from .domain.sessions import SessionVerifier
    from .domain.wechat_calls import WeChatCalls
    from .wechat.transport import WeChatTransport


@cache
def table() -> Table:
    return Table(settings().table_name)


@cache
def params() -> SsmParams:
    """The stack's parameters (SSM), through one per-container cache."""
    return SsmParams()


@cache
def keys() -> StackKeys:
    s = settings()
    return StackKeys(
        params(),
        data_param=s.hmac_key_param,
        sealing_param=s.sealing_key_param,
        order_param=s.order_key_param,
        signing_param=s.signing_key_param,
        max_age=s.key_cache_s,
    )


def data_key() -> DataKey:
    return keys().data_key()


@cache
def sessions() -> SessionVerifier:
    """The session tokens' verifier (the API's edge calls it before routing)."""
    from .domain.sessions import SessionVerifier

    return SessionVerifier(keys().signing_keys, max_ttl_s=settings().session_ttl_s)


@cache
def idempotent_calls() -> IdempotentCalls:
    from .dal.idempotency import IdempotencyTable
    from .domain.idempotency import IdempotentCalls

    return IdempotentCalls(IdempotencyTable(settings().table_name, aws.dynamodb()))


@cache
def quota_guard() -> QuotaGuard:
    s = settings()
    policy = QuotaPolicy(
        s.wechat_daily_quotas,
        s.quota_alarm_percent,
        s.quota_refuse_percent,
        hourly_share=s.wechat_hourly_budget_share,
    )
    return QuotaGuard(table(), policy, report=quota_used, clock=time.time)


def _ages(*more: tuple[str, int]) -> dict[str, int]:
    """The function's parameters to read together (name: cache age): both keys (the session
    signing keys and the data key) and ``more``."""
    s = settings()
    return {s.signing_key_param: s.key_cache_s, s.hmac_key_param: s.key_cache_s, **dict(more)}


@cache
def edge_for_keys() -> EdgeChecks:
    """What the keys function reads before routing: the keys, the access token, in 2.0 the sealing
    key (a 1.0 key function never creates or reads it); the order-sealing key is created by the
    first order, so it may not exist yet: read on first need. Every route needs a session."""
    s = settings()
    sealing = [(s.sealing_key_param, s.key_cache_s)] if s.face_api_version == 2 else []
    return EdgeChecks(
        Prefetch(params(), _ages(*sealing, (s.access_token_param, s.token_cache_s))), sessions()
    )


@cache
def edge_for_orders() -> EdgeChecks:
    """The orders function: the data key, the order-sealing key, and in 2.0 the access token (the
    photo route), in one SSM call; never the session signing keys (IAM routes only)."""
    s = settings()
    token = {s.access_token_param: s.token_cache_s} if s.face_api_version == 2 else {}
    ages = {s.hmac_key_param: s.key_cache_s, s.order_key_param: s.key_cache_s, **token}
    return EdgeChecks(Prefetch(params(), ages))


@cache
def edge_for_results() -> EdgeChecks:
    """The results function: the keys, the access token and the sealing key (both versions: the
    events it writes are sealed)."""
    s = settings()
    ages = _ages((s.sealing_key_param, s.key_cache_s), (s.access_token_param, s.token_cache_s))
    return EdgeChecks(Prefetch(params(), ages), sessions())


@cache
def edge_for_login() -> EdgeChecks:
    """The session function: the keys and the AppSecret (its other route needs a session)."""
    s = settings()
    return EdgeChecks(Prefetch(params(), _ages((s.app_secret_param, s.secret_cache_s))), sessions())


@cache
def wechat_transport() -> WeChatTransport:
    """One pooled connection to WeChat per container, shared by every kind of call."""
    from .wechat.transport import TransportConfig, WeChatTransport

    s = settings()
    return WeChatTransport(
        TransportConfig(
            base_url=s.wechat_base_url,
            fallback_base_url=s.wechat_fallback_base_url,
            connect_timeout=s.wechat_connect_timeout,
            read_timeout=s.wechat_read_timeout,
        )
    )


def _calls(*, tokens: bool, guarded: bool) -> WeChatCalls:
    from .domain.wechat_calls import CallPolicy, WeChatCalls

    s = settings()
    reader = (
        SharedTokenReader(
            params(),
            s.access_token_param,
            table(),
            LambdaRefresher(s.refresher_function),
            cache_s=s.token_cache_s,
        )
        if tokens
        else None
    )
    return WeChatCalls(
        wechat_transport(),
        CallPolicy(total_budget=s.wechat_total_budget),
        tokens=reader,
        guard=quota_guard() if guarded else None,
        observe=wechat_event,
        timing=wechat_latency,
    )


@cache
def wechat() -> WeChatCalls:
    """The API functions' calls: tokens from SSM (written by the refresher), counted by the
    quota guard."""
    return _calls(tokens=True, guarded=True)


@cache
def wechat_without_token() -> WeChatCalls:
    """The refresher's calls: stable_token authenticates with the AppSecret (not counted)."""
    return _calls(tokens=False, guarded=False)


@cache
def login_client() -> WeChatCalls:
    """The session function's calls: jscode2session (no token), counted by the quota guard."""
    return _calls(tokens=False, guarded=True)


# --- the use cases ----------------------------------------------------------------------------


@cache
def issuance() -> KeyIssuance:
    from .domain.issuance import IssuancePolicy, KeyIssuance
    from .observability import metric

    s = settings()
    policy = IssuancePolicy(
        s.face_api_version,
        s.key_limit_per_hour,
        s.lookup_window_s,
        s.audit_retention_s,
        sweep_after_s=s.result_sweep_after_s,
        identity_source=s.identity_source,
    )
    return KeyIssuance(
        policy,
        table(),
        wechat(),
        data_key(),
        idempotent_calls=idempotent_calls(),
        sealing_key=keys().sealing_key,
        issued=lambda: metric("KeysIssued"),
        order_key=keys().order_key if s.identity_source != "user" else None,
    )


@cache
def orders() -> Orders:
    from .domain.orders import OrderPolicy, Orders

    s = settings()
    policy = OrderPolicy(
        s.face_api_version,
        ttl_s=s.order_ttl_s,
        retention_s=s.result_retention_s,
        audit_retention_s=s.audit_retention_s,
    )
    return Orders(policy, table(), data_key(), keys().order_key, wechat(), idempotent_calls())


@cache
def results() -> ResultLookup:
    from .domain.results import ResultLookup

    s = settings()
    return ResultLookup(
        table(),
        wechat(),
        data_key(),
        retention_s=s.result_retention_s,
        lookups_per_hour=s.lookup_limit_per_hour,
        audit_retention_s=s.audit_retention_s,
        api_version=s.face_api_version,
        forget_idempotency=idempotent_calls().erase,
        sealing_key=keys().sealing_key,
        outbox=outbox(),
    )


@cache
def outbox() -> Outbox:
    """The business's events: written with each result, sent at once or by the emitter."""
    from .dal.bus import EventBridgeBus
    from .domain.events import SOURCE, Outbox
    from .observability import metric

    s = settings()
    return Outbox(
        table(),
        EventBridgeBus(s.event_bus_name, SOURCE),
        keys().sealing_key,
        retention_s=s.result_retention_s,
        retry_s=s.event_retry_s,
        max_backoff_s=max(s.event_retry_s, s.event_retry_max_s),
        report=lambda name, n: metric(name, n),
    )


@cache
def login() -> Login:
    from .domain.login import Login, LoginPolicy

    s = settings()
    policy = LoginPolicy(s.app_id, s.session_ttl_s, s.session_limit_per_address, s.session_slowed_per_minute)
    secret = AppSecret(params(), s.app_secret_param, s.secret_cache_s)
    return Login(policy, table(), data_key(), login_client(), secret.read, keys().signing_keys)
