"""Login: a per-address limit, the wx.login code for an openid, a session token."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..answers import SessionAnswer
from ..dal.records import Store
from ..wechat.client import WeChatClient
from .limits import Limit, charge
from .sessions import issue_session
from .stack_keys import DataKey, SigningKey
from .tokens import with_app_secret


@dataclass(frozen=True)
class LoginPolicy:
    app_id: str
    session_ttl_s: int
    per_address_per_hour: int


def log_in(
    code: str,
    address: str,
    *,
    policy: LoginPolicy,
    table: Store,
    data_key: DataKey,
    wechat: WeChatClient,
    app_secret: Callable[[bool], str],
    signing_keys: Callable[[], Sequence[SigningKey]],
    now: float | None = None,
) -> SessionAnswer:
    """Every attempt counts against the client address (kept only as an HMAC), bad codes too:
    scripted logins cost WeChat calls."""
    at = time.time() if now is None else now
    charge(
        table,
        Limit("sessions-by-address", policy.per_address_per_hour),
        data_key.mac("address", address)[:32],
        at,
    )
    # session_key stays inside this call: never returned, stored or logged.
    login = with_app_secret(app_secret, lambda secret: wechat.code2session(policy.app_id, secret, code))
    # The user's erasure epoch now (a consistent read): a login sent after an erasure answered
    # carries the new epoch, so the erasure never refuses it, whatever the clocks say.
    epoch = table.erasure_epoch(data_key.owner(login.openid))
    token = issue_session(login.openid, signing_keys(), policy.session_ttl_s, now=at, epoch=epoch)
    return SessionAnswer(token=token, expires_in=policy.session_ttl_s)


@dataclass(frozen=True)
class Login:
    """``POST /v1/session`` as one call."""

    policy: LoginPolicy
    table: Store
    data_key: DataKey
    wechat: WeChatClient
    app_secret: Callable[[bool], str]
    signing_keys: Callable[[], Sequence[SigningKey]]

    def __call__(self, code: str, address: str) -> SessionAnswer:
        return log_in(
            code,
            address,
            policy=self.policy,
            table=self.table,
            data_key=self.data_key,
            wechat=self.wechat,
            app_secret=self.app_secret,
            signing_keys=self.signing_keys,
        )
