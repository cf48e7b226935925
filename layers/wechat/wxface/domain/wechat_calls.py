"""How the product calls WeChat: the one place that decides, for every call, in this order:

1. **admit**: the quota guard counts the attempt (at the caller's priority) or refuses it,
   before anything is sent; every attempt WeChat may see is counted, retries included;
2. **token**: the shared access token, for the endpoints that take one;
3. **attempt**: the transport sends it once (``wxface.wechat.transport``, this module its only
   caller) and answers WeChat's errcode, or the failure that stopped it, as data;
4. **classify**: errcode 0 is the answer; a token errcode (40001 / 40014 / 42001) tells the token
   source and goes again at once with the fresher token (at most twice); ``-1`` (busy), a transport failure or an
   HTTP 5xx is retried; any other errcode is raised as its typed error;
5. **retry or give up**: exponential backoff with full jitter, within ``max_attempts`` and a total
   time budget; a transport failure or 5xx moves the next attempt to the other host; a
   ``getverifyid`` sends a fresh ``out_seq_no`` each time. The error raised says whether any
   attempt reached WeChat (``reached``), so the caller knows what to refund.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

import msgspec

from ..identity import new_out_seq_no
from ..wechat import transport as calls
from ..wechat.errors import WeChatBusy, WeChatError, WeChatUnavailable, error_for_errcode
from ..wechat.models import (
    AccessToken,
    Code2Session,
    GetInfoResponse,
    QueryVerifyInfoResponse,
    Secret,
    UserIdKey,
    VerifyId,
    WeChatResponse,
)
from ..wechat.transport import Call, Reply, answer_of, photo_of

if TYPE_CHECKING:  # types only: the refresher's calls need nothing of the limits at run time
    from .limits import Priority

__all__ = ["Admission", "CallPolicy", "TokenSource", "Transport", "WeChatCalls"]

logger = logging.getLogger("wxface.wechat")

R = TypeVar("R", bound=WeChatResponse)


# A token errcode sends the call again at once with what the token source gives after hearing of
# the refusal, at most this many times: a container's cached token may be stale and the one in
# SSM retired too (WeChat changed tokens twice, or another system minted one with
# /cgi-bin/token), which the refresher's force_refresh then mends. Bounded: the call never loops.
TOKEN_RETRIES = 2


class Transport(Protocol):
    """One attempt at WeChat (``wxface.wechat.transport.WeChatTransport``)."""

    def send(self, call: Call[R], *, token: str | None, host: int, time_left: float) -> Reply: ...


class TokenSource(Protocol):
    """Where the access token comes from (the API functions: SSM, written by the refresher)."""

    def get(self) -> str:
        """The current access token."""
        ...

    def stale(self, token: str) -> None:
        """WeChat refused ``token``; make the next ``get`` return a fresher one if there is one."""
        ...


class Admission(Protocol):
    """The quota guard: counts one attempt at ``endpoint``, or raises ``QuotaGuardRefused``."""

    def admit(self, endpoint: str, priority: Priority | None = None) -> None: ...


@dataclass(frozen=True)
class CallPolicy:
    total_budget: float = 10.0  # every attempt and every backoff of one call, together
    max_attempts: int = 4
    backoff_base: float = 0.2
    backoff_max: float = 2.0


@dataclass
class WeChatCalls:
    """Typed calls to WeChat under one policy. Create one per container (the transport pools
    connections). ``observe(kind, endpoint, code)`` hears every errcode WeChat answers
    (``"errcode"``, or ``"caller_errcode"`` for codes about the caller, such as a used login code)
    and every ``"retry"``; ``timing(endpoint, ms)`` how long each attempt took (metrics). Neither
    may raise."""

    transport: Transport
    policy: CallPolicy = field(default_factory=CallPolicy)
    tokens: TokenSource | None = None  # None: only the calls that take no token (login, tokens)
    guard: Admission | None = None
    observe: Callable[[str, str, int | None], None] = lambda kind, endpoint, code: None
    timing: Callable[[str, float], None] = lambda endpoint, ms: None
    sleep: Callable[[float], None] = time.sleep
    new_out_seq_no: Callable[[], str] = new_out_seq_no
    clock: Callable[[], float] = time.monotonic

    # --- tokens (only the refresher calls these) --------------------------------------------

    def stable_token(self, appid: str, secret: Secret | str, *, force_refresh: bool = False) -> AccessToken:
        return self._answer(lambda: calls.stable_token(appid, secret, force_refresh=force_refresh), None)

    def token(self, appid: str, secret: Secret | str) -> AccessToken:
        return self._answer(lambda: calls.token(appid, secret), None)

    # --- login ------------------------------------------------------------------------------

    def code2session(self, appid: str, secret: Secret | str, js_code: str) -> Code2Session:
        return self._answer(lambda: calls.code2session(appid, secret, js_code), None)

    # --- face 1.0 ---------------------------------------------------------------------------

    def get_user_id_key(
        self, name: str, id_card_number: str, *, priority: Priority | None = None
    ) -> UserIdKey:
        return self._answer(lambda: calls.get_user_id_key(name, id_card_number), priority)

    def get_info(self, verify_result: str, *, priority: Priority | None = None) -> GetInfoResponse:
        return self._answer(lambda: calls.get_info(verify_result), priority)

    # --- face 2.0 ---------------------------------------------------------------------------

    def get_verify_id(
        self, cert_name: str, cert_no: str, openid: str, *, priority: Priority | None = None
    ) -> VerifyId:
        """``getverifyid``; the answer says which ``out_seq_no`` WeChat accepted (each attempt
        sends a fresh one), since ``queryverifyinfo`` must send it back."""
        call, reply = self._call(
            lambda: calls.get_verify_id(cert_name, cert_no, openid, self.new_out_seq_no()), priority
        )
        return msgspec.structs.replace(answer_of(call, reply), out_seq_no=call.out_seq_no)

    def query_verify_info(
        self,
        verify_id: str,
        out_seq_no: str,
        cert_hash: str,
        openid: str,
        *,
        priority: Priority | None = None,
    ) -> QueryVerifyInfoResponse:
        return self._answer(
            lambda: calls.query_verify_info(verify_id, out_seq_no, cert_hash, openid), priority
        )

    def get_image(
        self,
        verify_id: str,
        out_seq_no: str,
        cert_hash: str,
        openid: str,
        *,
        priority: Priority | None = None,
    ) -> bytes:
        _, reply = self._call(lambda: calls.get_image(verify_id, out_seq_no, cert_hash, openid), priority)
        return photo_of(reply)

    # --- the policy -------------------------------------------------------------------------

    def _token(self) -> str:
        if self.tokens is None:
            raise RuntimeError("these WeChatCalls were created without a TokenSource")
        return self.tokens.get()

    def _answer(self, build: Callable[[], Call[R]], priority: Priority | None) -> R:
        call, reply = self._call(build, priority)
        return answer_of(call, reply)

    def _call(self, build: Callable[[], Call[R]], priority: Priority | None) -> tuple[Call[R], Reply]:
        """Admit, token, attempt, classify, retry: the call that succeeded and its reply."""
        policy = self.policy
        started = self.clock()
        deadline = started + policy.total_budget
        host = 0  # moves on after a transport failure or 5xx
        reached = False  # did any attempt get past connecting?
        attempt = 0
        token_retries = 0
        while True:
            call = build()
            endpoint = call.endpoint
            time_left = deadline - self.clock()
            if time_left <= 0.01:
                raise WeChatUnavailable(endpoint, "time budget spent", reached=reached)
            # Every attempt WeChat may see is admitted (counted): retries and the retry with a
            # fresh token use WeChat's quota as much as the first call.
            if self.guard is not None:
                self.guard.admit(endpoint, priority)
            token = self._token() if call.with_token else None
            before = self.clock()
            reply = self.transport.send(call, token=token, host=host, time_left=time_left)
            self.timing(endpoint, (self.clock() - before) * 1000)
            reached = reached or reply.reached
            if reply.failure is None and reply.errcode == 0:
                return call, reply
            failed: WeChatError
            if reply.failure is not None:
                host += 1
                failed = WeChatUnavailable(endpoint, reply.failure, reached=reached)
            else:
                err = error_for_errcode(endpoint, reply.errcode, reply.errmsg)
                logger.warning("wechat errcode", extra={"endpoint": endpoint, "errcode": reply.errcode})
                self.observe(
                    "caller_errcode" if err.info.caller_error else "errcode", endpoint, reply.errcode
                )
                if (
                    err.info.token_error
                    and token is not None
                    and self.tokens is not None
                    and token_retries < TOKEN_RETRIES
                ):
                    token_retries += 1
                    self.tokens.stale(token)
                    continue  # at once, with the fresher token: not one of the retries
                if not isinstance(err, WeChatBusy):
                    raise err
                failed = err
            attempt += 1
            wait = random.uniform(0, min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1)))  # noqa: S311 - jitter
            if attempt >= policy.max_attempts or self.clock() - started + wait >= policy.total_budget:
                raise failed
            logger.info("wechat retry", extra={"endpoint": endpoint, "attempt": attempt})
            self.observe("retry", endpoint, None)
            self.sleep(wait)
