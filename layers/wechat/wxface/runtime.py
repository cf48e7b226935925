"""Per-container wiring: one :class:`Container` per Lambda execution environment, made by the
function's handler module at import (nothing of AWS or WeChat is touched then). Every client,
store and use case is created once, on first use, and handed what it needs (adapters of the ports
it owns, the function's metric hooks), so that a request runs straight down from the handler and
nothing is registered at module level. The use cases hold the data key as first read: it never
rotates (the signing keys do, and are read through :class:`StackKeys` on every use)."""

from __future__ import annotations

import os
import time
from functools import cached_property, partial
from typing import TYPE_CHECKING

from .dal.aws import AwsClients
from .observability import Observed, for_function
from .settings import Settings, settings

# Each part's modules are imported where it is built, on first use: a function imports what its
# own requests need (the token refresher never imports the table's modules, nor the edge's).
if TYPE_CHECKING:
    from .api.checks import EdgeChecks
    from .dal.params import SsmParams
    from .dal.runs import LambdaRuns
    from .dal.table import Table
    from .domain.events import Outbox
    from .domain.idempotency import IdempotentCalls
    from .domain.issuance import KeyIssuance
    from .domain.limits import QuotaGuard
    from .domain.login import Login
    from .domain.orders import Orders
    from .domain.results import ResultLookup
    from .domain.sessions import SessionVerifier
    from .domain.stack_keys import DataKey, StackKeys
    from .domain.wechat_calls import WeChatCalls
    from .wechat.transport import WeChatTransport


class Container:
    """What one function's execution environment builds, each part once (``cached_property``).
    Every AWS call of its clients is timed into the function's own metrics."""

    def __init__(self, observed: Observed, config: Settings | None = None) -> None:
        self.observed = observed
        self._config = config
        self.aws = AwsClients(timing=observed.aws_latency)

    @cached_property
    def settings(self) -> Settings:
        """The function's environment, read on first use (a handler module imports without it)."""
        return self._config or settings()

    @classmethod
    def for_function(cls, service: str) -> Container:
        """The container of the function named ``service`` (its Logger and Metrics), with
        SnapStart's after-restore hook registered (wxface.snapstart)."""
        from . import snapstart

        snapstart.register()
        return cls(for_function(service))

    @cached_property
    def table(self) -> Table:
        from .dal.table import Table

        return Table(self.settings.table_name, self.aws, queue_shards=self.settings.queue_shards)

    @cached_property
    def params(self) -> SsmParams:
        """The stack's parameters (SSM), through one per-container cache."""
        from .dal.params import SsmParams

        return SsmParams(self.aws, kms_key_id=self.settings.ssm_kms_key_id)

    @cached_property
    def keys(self) -> StackKeys:
        from .domain.stack_keys import StackKeys

        s = self.settings
        return StackKeys(
            self.params,
            data_param=s.hmac_key_param,
            sealing_param=s.sealing_key_param,
            order_param=s.order_key_param,
            signing_param=s.signing_key_param,
            max_age=s.key_cache_s,
        )

    @property
    def data_key(self) -> DataKey:
        return self.keys.data_key()

    @cached_property
    def sessions(self) -> SessionVerifier:
        """The session tokens' verifier (the API's edge calls it before routing)."""
        from .domain.sessions import SessionVerifier

        return SessionVerifier(self.keys.signing_keys, max_ttl_s=self.settings.session_ttl_s)

    @cached_property
    def idempotent_calls(self) -> IdempotentCalls:
        from .dal.idempotency import IdempotencyTable
        from .domain.idempotency import IdempotentCalls

        return IdempotentCalls(IdempotencyTable(self.settings.table_name, self.aws.dynamodb()))

    @cached_property
    def quota_guard(self) -> QuotaGuard:
        from .domain.limits import QuotaGuard, QuotaPolicy
        from .observability import quota_used

        s = self.settings
        policy = QuotaPolicy(
            s.wechat_daily_quotas,
            s.quota_alarm_percent,
            s.quota_refuse_percent,
            hourly_share=s.wechat_hourly_budget_share,
        )
        return QuotaGuard(self.table, policy, report=quota_used, clock=time.time)

    def _ages(self, *more: tuple[str, int]) -> dict[str, int]:
        """The function's parameters to read together (name: cache age): both keys (the session
        signing keys and the data key) and ``more``."""
        s = self.settings
        return {s.signing_key_param: s.key_cache_s, s.hmac_key_param: s.key_cache_s, **dict(more)}

    @cached_property
    def edge_for_keys(self) -> EdgeChecks:
        """What the keys function reads before routing: the keys, the access token, in 2.0 the
        sealing key (a 1.0 key function never creates or reads it); the order-sealing key is
        created by the first order, so it may not exist yet: read on first need. Every route needs
        a session."""
        from .api.checks import EdgeChecks
        from .dal.params import Prefetch

        s = self.settings
        sealing = [(s.sealing_key_param, s.key_cache_s)] if s.face_api_version == 2 else []
        ages = self._ages(*sealing, (s.access_token_param, s.token_cache_s))
        return EdgeChecks(Prefetch(self.params, ages), self.sessions)

    @cached_property
    def edge_for_orders(self) -> EdgeChecks:
        """The orders function: the data key, the order-sealing key, and in 2.0 the access token
        (the photo route), in one SSM call; never the session signing keys (IAM routes only)."""
        from .api.checks import EdgeChecks
        from .dal.params import Prefetch

        s = self.settings
        token = {s.access_token_param: s.token_cache_s} if s.face_api_version == 2 else {}
        ages = {s.hmac_key_param: s.key_cache_s, s.order_key_param: s.key_cache_s, **token}
        return EdgeChecks(Prefetch(self.params, ages))

    @cached_property
    def edge_for_results(self) -> EdgeChecks:
        """The results function: the keys, the access token and the sealing key (both versions:
        the events it writes are sealed)."""
        from .api.checks import EdgeChecks
        from .dal.params import Prefetch

        s = self.settings
        ages = self._ages((s.sealing_key_param, s.key_cache_s), (s.access_token_param, s.token_cache_s))
        return EdgeChecks(Prefetch(self.params, ages), self.sessions)

    @cached_property
    def edge_for_login(self) -> EdgeChecks:
        """The session function: the keys and the AppSecret (its other route needs a session)."""
        from .api.checks import EdgeChecks
        from .dal.params import Prefetch

        s = self.settings
        ages = self._ages((s.app_secret_param, s.secret_cache_s))
        return EdgeChecks(Prefetch(self.params, ages), self.sessions)

    @cached_property
    def wechat_transport(self) -> WeChatTransport:
        """One pooled connection to WeChat per container, shared by every kind of call."""
        from .wechat.transport import TransportConfig, WeChatTransport

        s = self.settings
        return WeChatTransport(
            TransportConfig(
                base_url=s.wechat_base_url,
                fallback_base_url=s.wechat_fallback_base_url,
                connect_timeout=s.wechat_connect_timeout,
                read_timeout=s.wechat_read_timeout,
            )
        )

    def _calls(self, *, tokens: bool, guarded: bool, budget: float | None = None) -> WeChatCalls:
        from .dal.refresher import LambdaRefresher
        from .domain.tokens import SharedTokenReader
        from .domain.wechat_calls import CallPolicy, WeChatCalls
        from .observability import wechat_event

        s = self.settings
        reader = (
            SharedTokenReader(
                self.params,
                s.access_token_param,
                self.table,
                LambdaRefresher(s.refresher_function, self.aws),
                cache_s=s.token_cache_s,
            )
            if tokens
            else None
        )
        return WeChatCalls(
            self.wechat_transport,
            CallPolicy(total_budget=s.wechat_total_budget if budget is None else budget),
            tokens=reader,
            guard=self.quota_guard if guarded else None,
            observe=wechat_event,
            timing=self.observed.wechat_latency,
        )

    @cached_property
    def wechat(self) -> WeChatCalls:
        """The API functions' calls: tokens from SSM (written by the refresher), counted by the
        quota guard."""
        return self._calls(tokens=True, guarded=True)

    @cached_property
    def wechat_without_token(self) -> WeChatCalls:
        """The refresher's calls: stable_token authenticates with the AppSecret (not counted)."""
        return self._calls(tokens=False, guarded=False)

    @cached_property
    def login_client(self) -> WeChatCalls:
        """The session function's calls: jscode2session (no token), counted by the quota guard."""
        return self._calls(tokens=False, guarded=True)

    # --- the use cases ------------------------------------------------------------------------

    @cached_property
    def issuance(self) -> KeyIssuance:
        from .domain.issuance import IssuancePolicy, KeyIssuance

        s = self.settings
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
            self.table,
            self.wechat,
            self.data_key,
            idempotent_calls=self.idempotent_calls,
            sealing_key=self.keys.sealing_key,
            issued=partial(self.observed.count, "KeysIssued"),
            order_key=self.keys.order_key if s.identity_source != "user" else None,
        )

    @cached_property
    def orders(self) -> Orders:
        from .domain.orders import OrderPolicy, Orders

        s = self.settings
        policy = OrderPolicy(
            s.face_api_version,
            ttl_s=s.order_ttl_s,
            retention_s=s.result_retention_s,
            audit_retention_s=s.audit_retention_s,
        )
        return Orders(
            policy, self.table, self.data_key, self.keys.order_key, self.wechat, self.idempotent_calls
        )

    @cached_property
    def results(self) -> ResultLookup:
        return self._lookup(self.wechat)

    @cached_property
    def sweep(self) -> ResultLookup:
        """The 2.0 sweep's lookups: as :attr:`results`, each WeChat call within
        ``SWEEP_CALL_BUDGET_S`` (no user waits: a lookup that takes longer is the next run's), so
        that a run starts lookups for longer within its Timeout."""
        from .domain.results import SWEEP_CALL_BUDGET_S

        budget = min(SWEEP_CALL_BUDGET_S, self.settings.wechat_total_budget)
        return self._lookup(self._calls(tokens=True, guarded=True, budget=budget))

    @cached_property
    def own_runs(self) -> LambdaRuns:
        """More runs of this very function, side by side (the sweep's parts)."""
        from .dal.runs import LambdaRuns

        return LambdaRuns(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""), self.aws)

    def _lookup(self, wechat: WeChatCalls) -> ResultLookup:
        from .domain.results import ResultLookup

        s = self.settings
        return ResultLookup(
            self.table,
            wechat,
            self.data_key,
            retention_s=s.result_retention_s,
            lookups_per_hour=s.lookup_limit_per_hour,
            audit_retention_s=s.audit_retention_s,
            api_version=s.face_api_version,
            forget_idempotency=self.idempotent_calls.erase,
            sealing_key=self.keys.sealing_key,
            outbox=self.outbox,
        )

    @cached_property
    def outbox(self) -> Outbox:
        """The business's events: written with each result, sent at once or by the emitter."""
        from .dal.bus import EventBridgeBus
        from .domain.events import SOURCE, Outbox

        s = self.settings
        return Outbox(
            self.table,
            EventBridgeBus(s.event_bus_name, SOURCE, self.aws),
            self.keys.sealing_key,
            retention_s=s.result_retention_s,
            retry_s=s.event_retry_s,
            max_backoff_s=max(s.event_retry_s, s.event_retry_max_s),
            report=self.observed.count,
        )

    @cached_property
    def login(self) -> Login:
        from .domain.login import Login, LoginPolicy
        from .domain.tokens import AppSecret

        s = self.settings
        policy = LoginPolicy(
            s.app_id, s.session_ttl_s, s.session_limit_per_address, s.session_slowed_per_minute
        )
        secret = AppSecret(self.params, s.app_secret_param, s.secret_cache_s)
        return Login(
            policy, self.table, self.data_key, self.login_client, secret.read, self.keys.signing_keys
        )
