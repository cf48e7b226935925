"""Login: a per-address limit, the wx.login code for an openid, a session token."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..answers import SessionAnswer
from ..ports.store import Counters, Users
from ..wechat.errors import WeChatLoginCodeError
from .limits import Limit, add_count, charge, sliding_count
from .sessions import issue_session
from .stack_keys import DataKey, SigningKey
from .tokens import with_app_secret
from .wechat_calls import WeChatCalls

REFUSED_CODES = "login-refused"  # per client address: codes WeChat refused (40029, 40163)


class LoginStore(Counters, Users, Protocol):
    """What a login needs of the table: the per-address counters and the user's erasure epoch."""


@dataclass(frozen=True)
class LoginPolicy:
    """``refused_per_address_per_hour``: wx.login codes WeChat may refuse for one client address in
    the last hour (sliding) before logins from it are slowed to ``slowed_per_minute``."""

    app_id: str
    session_ttl_s: int
    refused_per_address_per_hour: int
    slowed_per_minute: int = 30


def log_in(
    code: str,
    address: str,
    *,
    policy: LoginPolicy,
    table: LoginStore,
    data_key: DataKey,
    wechat: WeChatCalls,
    app_secret: Callable[[bool], str],
    signing_keys: Callable[[], Sequence[SigningKey]],
    now: float | None = None,
) -> SessionAnswer:
    """A code's validity is known only once WeChat answers, and carrier-grade NAT puts many users
    behind one address, so an address is slowed, never shut: the codes WeChat refuses are counted
    per client address (kept only as an HMAC) over a sliding hour, and past the allowance logins
    from that address are admitted at ``slowed_per_minute`` (a sliding minute) instead of all. A
    script can slow its address; the users behind it still log in."""
    at = time.time() if now is None else now
    subject = data_key.mac("address", address)[:32]
    if sliding_count(table, REFUSED_CODES, subject, at) >= policy.refused_per_address_per_hour:
        charge(table, Limit("sessions-by-address", policy.slowed_per_minute, window_s=60), subject, at)
    # session_key stays inside this call: never returned, stored or logged.
    try:
        login = with_app_secret(app_secret, lambda secret: wechat.code2session(policy.app_id, secret, code))
    except WeChatLoginCodeError:
        add_count(table, REFUSED_CODES, subject, at)
        raise
    # The user's erasure epoch now (a consistent read): a login sent after an erasure answered
    # carries the new epoch, so the erasure never refuses it, whatever the clocks say.
    epoch = table.erasure_epoch(data_key.owner(login.openid))
    token = issue_session(login.openid, signing_keys(), policy.session_ttl_s, now=at, epoch=epoch)
    return SessionAnswer(token=token, expires_in=policy.session_ttl_s)


@dataclass(frozen=True)
class Login:
    """``POST /v1/session`` as one call."""

    policy: LoginPolicy
    table: LoginStore
    data_key: DataKey
    wechat: WeChatCalls
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
