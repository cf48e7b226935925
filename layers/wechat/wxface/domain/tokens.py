"""The access token: one writer (the refresher), every API function a cached reader.

WeChat's ``stable_token`` hands out the next token in the last 5 minutes of the current one,
while the current one still works. The refresher calls it (without ``force_refresh``) every
minute and writes SSM only when the token changed; readers cache it for ``token_cache_s``
(shorter than those 5 minutes), so a warm request makes no SSM call and no reader ever holds a
token WeChat has retired.

On a token errcode, a reader re-reads SSM once. If SSM still holds the refused token, it asks the
refresher to run now: a synchronous Lambda invoke, one container at a time (a DynamoDB lease);
the others wait for SSM to change and re-read. Readers never call WeChat's token endpoints.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..ports.params import ParameterMissing, Refresher, SecureParams
from ..wechat.errors import WeChatApiError, WeChatCredentialsRejected, WeChatUnavailable
from ..wechat.models import AccessToken
from .stack_keys import sha256_hex
from .wechat_calls import WeChatCalls

if TYPE_CHECKING:  # a type only: importing the store's protocols loads every record type
    from ..ports.store import Leases

logger = logging.getLogger("wxface.tokens")

LEASE_NAME = "token-refresh"
LEASE_S = 20.0
WAIT_S = 12.0
POLL_S = 0.25


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    expires_at: int

    def __repr__(self) -> str:
        return f"StoredToken(expires_at={self.expires_at})"

    def dumps(self) -> str:
        return json.dumps({"access_token": self.access_token, "expires_at": self.expires_at})

    @classmethod
    def loads(cls, raw: str) -> StoredToken:
        data = json.loads(raw)
        return cls(str(data["access_token"]), int(data["expires_at"]))


class SharedTokenReader:
    """A ``TokenSource`` over the SSM parameter the refresher writes."""

    def __init__(
        self,
        params: SecureParams,
        param: str,
        table: Leases,
        refresher: Refresher,
        *,
        cache_s: int = 60,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._params = params
        self._param = param
        self._table = table
        self._refresher = refresher
        self._cache_s = cache_s
        self._clock = clock
        self._sleep = sleep

    def _read(self, force: bool = False) -> StoredToken | None:
        try:
            return StoredToken.loads(self._params.read(self._param, max_age=self._cache_s, force=force))
        except ParameterMissing:
            return None

    def get(self) -> str:
        stored = self._read()
        if stored is not None and stored.expires_at - self._clock() < 30:
            stored = self._read(force=True)  # the cache outlived the token: the refresher has news
        if stored is None:  # first deploy: nothing in SSM yet
            stored = self._refresh_now(None)
        return stored.access_token

    def stale(self, token: str) -> None:
        stored = self._read(force=True)
        if stored is not None and stored.access_token != token:
            return  # the refresher already wrote a newer token
        self._refresh_now(token)

    def _refresh_now(self, refused: str | None) -> StoredToken:
        holder = uuid.uuid4().hex
        if self._table.acquire_lease(LEASE_NAME, holder, self._clock(), LEASE_S):
            try:
                logger.info(
                    "asking the refresher to run now", extra={"reason": "stale" if refused else "missing"}
                )
                answer = self._refresher.run_now(
                    {
                        "source": "wxface.token-reader",
                        "refused_token_sha256": sha256_hex(refused) if refused else None,
                    }
                )
                if not answer.get("ok"):
                    raise WeChatUnavailable("token-refresh", "the refresher could not get a token")
            finally:
                self._table.release_lease(LEASE_NAME, holder)
            stored = self._read(force=True)
            if stored is not None:
                return stored
        else:
            deadline = self._clock() + WAIT_S
            while self._clock() < deadline:
                self._sleep(POLL_S)
                stored = self._read(force=True)
                if stored is not None and stored.access_token != refused:
                    return stored
        raise WeChatUnavailable("token-refresh", "no fresh access token")


@dataclass(frozen=True)
class AppSecret:
    """The AppSecret the operator keeps in a parameter (cached ``max_age`` seconds)."""

    params: SecureParams
    name: str
    max_age: int

    def read(self, force: bool = False) -> str:
        return self.params.read(self.name, max_age=self.max_age, force=force)


INVALID_APPSECRET = 40125

T = TypeVar("T")


def with_app_secret(read: Callable[[bool], str], call: Callable[[str], T]) -> T:
    """Call WeChat with the AppSecret. On 40125 (invalid AppSecret), or 40001 where a token
    endpoint says so, the operator may just have reset it in WeChat's console and put the new one
    into SSM: read it once more, bypassing the cache, and try once more; a second refusal is
    raised (502 and the WeChat-errors alarm)."""
    try:
        return call(read(False))
    except WeChatApiError as err:
        secret_refused = err.errcode == INVALID_APPSECRET or (
            err.errcode == 40001 and isinstance(err, WeChatCredentialsRejected)
        )
        if not secret_refused:
            raise
    return call(read(True))


def refresh_token(
    client: WeChatCalls,
    params: SecureParams,
    app_id: str,
    app_secret_param: str,
    token_param: str,
    *,
    refused_token_sha256: str | None = None,
    secret_cache_s: int = 60,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The refresher's one job. Writes SSM only when WeChat's token changed.

    ``force_refresh`` is used only when a reader reports that WeChat refused the very token
    ``stable_token`` still returns (WeChat allows 20 forced refreshes a day).
    """
    used: list[str] = []  # the secret WeChat accepted, for a forced refresh below

    def fetch(secret: str) -> AccessToken:
        used.append(secret)
        return client.stable_token(app_id, secret)

    answer = with_app_secret(AppSecret(params, app_secret_param, secret_cache_s).read, fetch)
    token = answer.access_token.get_secret_value()
    forced = False
    if refused_token_sha256 and sha256_hex(token) == refused_token_sha256:
        answer = client.stable_token(app_id, used[-1], force_refresh=True)
        token = answer.access_token.get_secret_value()
        forced = True
    try:
        current = StoredToken.loads(params.read(token_param, max_age=0, force=True))
    except ParameterMissing:
        current = None
    expires_at = int(clock()) + answer.expires_in
    changed = current is None or current.access_token != token
    if changed:
        params.write(token_param, StoredToken(token, expires_at).dumps())
    return {"ok": True, "changed": changed, "forced": forced, "expires_in": answer.expires_in}
