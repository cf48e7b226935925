"""The typed WeChat server-API client every function shares.

One pooled ``httpx.Client`` per instance (create one per container), explicit connect and read
timeouts, a base URL from configuration with a fallback host, and one retry policy:

- ``-1`` (busy), timeouts, connection errors and HTTP 5xx are retried with exponential backoff
  and full jitter (tenacity), within ``max_attempts`` and a total time budget; a transport
  failure or 5xx moves the next attempt to the other host;
- a token errcode (40001 / 40014 / 42001) calls ``TokenSource.stale`` once and retries once;
  it never loops;
- a retried ``getverifyid`` sends a fresh ``out_seq_no`` (WeChat refuses a reused one).

Nothing here logs a URL with its query string (``access_token`` / ``secret`` live there), a
request body, or a response body.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

import httpx
from pydantic import SecretStr, ValidationError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from ..identity import CERT_TYPE_IDENTITY_CARD, new_out_seq_no
from .errors import WeChatBusy, WeChatError, WeChatProtocolError, WeChatUnavailable, error_for_errcode
from .models import (
    AccessToken,
    CertInfo,
    Code2Session,
    GetInfoRequest,
    GetInfoResponse,
    GetUserIdKeyRequest,
    GetVerifyIdRequest,
    QueryVerifyInfoRequest,
    QueryVerifyInfoResponse,
    StableTokenRequest,
    UserIdKey,
    VerifyId,
    WeChatResponse,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_FALLBACK_BASE_URL", "ClientConfig", "TokenSource", "WeChatClient"]

logger = logging.getLogger("wxface.wechat")

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"
DEFAULT_FALLBACK_BASE_URL: Final = "https://api2.weixin.qq.com"

P_STABLE_TOKEN: Final = "/cgi-bin/stable_token"  # noqa: S105 - a path, not a password
P_TOKEN: Final = "/cgi-bin/token"  # noqa: S105 - a path, not a password
P_JSCODE2SESSION: Final = "/sns/jscode2session"
P_GETUSERIDKEY: Final = "/cityservice/face/identify/getuseridkey"
P_GETINFO: Final = "/cityservice/face/identify/getinfo"
P_GETVERIFYID: Final = "/cityservice/face/identify/getverifyid"
P_QUERYVERIFYINFO: Final = "/cityservice/face/identify/queryverifyinfo"
P_GETIMAGE: Final = "/cityservice/face/identify/getimage"

_SECRET_QUERY: Final = re.compile(r"((?:access_token|secret|js_code)=)[^&\s\"']+", re.IGNORECASE)


def redact_url(text: str) -> str:
    """Replace the values of access_token, secret and js_code query parameters with ***."""
    return _SECRET_QUERY.sub(r"\1***", text)


class _RedactQueryFilter(logging.Filter):
    """httpx logs every request URL at INFO; WeChat's URLs carry the token or the AppSecret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL | str) else a for a in args)
        record.msg = redact_url(str(record.msg))
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactQueryFilter) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactQueryFilter())


class TokenSource(Protocol):
    """Where the client gets the access token. The functions read it from SSM (one writer)."""

    def get(self) -> str:
        """The current access token."""
        ...

    def stale(self, token: str) -> None:
        """WeChat refused ``token``; make the next ``get`` return a fresher one if there is one."""
        ...


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = DEFAULT_BASE_URL
    fallback_base_url: str | None = DEFAULT_FALLBACK_BASE_URL
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    total_budget: float = 10.0  # every attempt and every backoff of one call, together
    max_attempts: int = 4
    backoff_base: float = 0.2
    backoff_max: float = 2.0
    user_agent: str = "wechat-face-verify-sam/0.1"
    base_urls: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        urls = [self.base_url.rstrip("/")]
        if self.fallback_base_url and self.fallback_base_url.rstrip("/") not in urls:
            urls.append(self.fallback_base_url.rstrip("/"))
        object.__setattr__(self, "base_urls", tuple(urls))


class _NoTokens:
    def get(self) -> str:
        raise RuntimeError("this WeChatClient was created without a TokenSource")

    def stale(self, token: str) -> None:  # pragma: no cover - get() already failed
        pass


R = TypeVar("R", bound=WeChatResponse)


class WeChatClient:
    """Typed calls to WeChat. Create one per container and reuse it (it pools connections)."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        tokens: TokenSource | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        out_seq_no_factory: Callable[[], str] = new_out_seq_no,
        observer: Callable[[str, str, int | None], None] | None = None,
        admit: Callable[[str], None] | None = None,
        timing: Callable[[str, float], None] | None = None,
    ) -> None:
        """``observer(kind, endpoint, code)`` hears of every errcode WeChat answers (``"errcode"``,
        or ``"caller_errcode"`` for codes about the caller, such as a used login code) and every
        ``"retry"`` (metrics); it must not raise. ``admit(endpoint)`` runs before every
        call (the quota guard): whatever it raises stops the call before anything is sent.
        ``timing(endpoint, ms)`` hears how long each attempt took (latency metrics); it must not
        raise."""
        self.config = config or ClientConfig()
        self._admit = admit
        self._observe = observer or (lambda kind, endpoint, code: None)
        self._timing = timing or (lambda endpoint, ms: None)
        self._tokens: TokenSource = tokens or _NoTokens()
        self._sleep = sleep
        self._new_out_seq_no = out_seq_no_factory
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=55),
            headers={"User-Agent": self.config.user_agent},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tokens (only the refresher calls these) --------------------------------------------

    def stable_token(
        self, appid: str, secret: SecretStr | str, *, force_refresh: bool = False
    ) -> AccessToken:
        """``POST /cgi-bin/stable_token``: the same token while valid; renewed 5 min before expiry."""
        req = StableTokenRequest(appid=appid, secret=_secret(secret), force_refresh=force_refresh)
        return self._json(P_STABLE_TOKEN, AccessToken, body=req.wire, with_token=False)

    def token(self, appid: str, secret: SecretStr | str) -> AccessToken:
        """``GET /cgi-bin/token``: mints a new token and retires the previous one (5 min grace)."""
        params = {"grant_type": "client_credential", "appid": appid, "secret": _reveal(secret)}
        return self._json(P_TOKEN, AccessToken, method="GET", params=params, with_token=False)

    # --- login ------------------------------------------------------------------------------

    def code2session(self, appid: str, secret: SecretStr | str, js_code: str) -> Code2Session:
        """``GET /sns/jscode2session``: a single-use ``wx.login`` code for openid and session_key."""
        params = {
            "appid": appid,
            "secret": _reveal(secret),
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        return self._json(P_JSCODE2SESSION, Code2Session, method="GET", params=params, with_token=False)

    # --- face 1.0 ---------------------------------------------------------------------------

    def get_user_id_key(self, name: str, id_card_number: str) -> UserIdKey:
        req = GetUserIdKeyRequest(name=SecretStr(name), id_card_number=SecretStr(id_card_number))
        return self._json(P_GETUSERIDKEY, UserIdKey, body=req.wire)

    def get_info(self, verify_result: str) -> GetInfoResponse:
        req = GetInfoRequest(verify_result=verify_result)
        return self._json(P_GETINFO, GetInfoResponse, body=req.wire)

    # --- face 2.0 ---------------------------------------------------------------------------

    def get_verify_id(self, cert_name: str, cert_no: str, openid: str) -> VerifyId:
        """``getverifyid``. Every attempt sends a fresh ``out_seq_no``; the answer says which
        one WeChat accepted, since ``queryverifyinfo`` must send it back."""
        cert = CertInfo(
            cert_type=CERT_TYPE_IDENTITY_CARD, cert_name=SecretStr(cert_name), cert_no=SecretStr(cert_no)
        )
        sent: list[str] = []

        def body() -> dict[str, Any]:
            sent.append(self._new_out_seq_no())
            return GetVerifyIdRequest(out_seq_no=sent[-1], cert_info=cert, openid=openid).wire()

        answer = self._json(P_GETVERIFYID, VerifyId, body=body)
        return answer.model_copy(update={"out_seq_no": sent[-1]})

    def query_verify_info(
        self, verify_id: str, out_seq_no: str, cert_hash: str, openid: str
    ) -> QueryVerifyInfoResponse:
        req = QueryVerifyInfoRequest(
            verify_id=verify_id, out_seq_no=out_seq_no, cert_hash=cert_hash, openid=openid
        )
        return self._json(P_QUERYVERIFYINFO, QueryVerifyInfoResponse, body=req.wire)

    def get_image(self, verify_id: str, out_seq_no: str, cert_hash: str, openid: str) -> bytes:
        """``getimage``: the verification photo as bytes (errcodes arrive as JSON). An empty body,
        or JSON without an errcode (such as a check that is not finished), is not a photo."""
        req = QueryVerifyInfoRequest(
            verify_id=verify_id, out_seq_no=out_seq_no, cert_hash=cert_hash, openid=openid
        )
        resp = self._send(P_GETIMAGE, body=req.wire)
        if not resp.content or _is_json(resp):
            raise WeChatProtocolError(P_GETIMAGE, "no photo in the answer")
        return resp.content

    # --- machinery --------------------------------------------------------------------------

    def _json(
        self,
        endpoint: str,
        model: type[R],
        *,
        method: str = "POST",
        params: dict[str, str] | None = None,
        body: Callable[[], dict[str, Any]] | None = None,
        with_token: bool = True,
    ) -> R:
        resp = self._send(endpoint, method=method, params=params, body=body, with_token=with_token)
        try:
            return model.model_validate_json(resp.content)
        except ValidationError:
            # The validation error would quote the input (a token, a session_key): drop it.
            raise WeChatProtocolError(endpoint, f"unexpected answer shape for {model.__name__}") from None

    def _send(
        self,
        endpoint: str,
        *,
        method: str = "POST",
        params: dict[str, str] | None = None,
        body: Callable[[], dict[str, Any]] | None = None,
        with_token: bool = True,
    ) -> httpx.Response:
        cfg = self.config
        deadline = time.monotonic() + cfg.total_budget
        host = [0]  # index into cfg.base_urls; moves on after a transport failure or 5xx
        reached = [False]  # did any attempt get past connecting?

        def attempt() -> httpx.Response:
            token_retried = False
            while True:
                # Every attempt WeChat may see is admitted (counted) by the quota guard: retries
                # and the retry with a fresh token use WeChat's quota as much as the first call.
                if self._admit is not None:
                    self._admit(endpoint)
                token = self._tokens.get() if with_token else None
                resp = self._once(endpoint, method, params, body, token, host, deadline, reached)
                status = _status(endpoint, resp)
                errcode = status.errcode
                if errcode == 0:
                    return resp
                err = error_for_errcode(endpoint, errcode, status.errmsg)
                logger.warning("wechat errcode", extra={"endpoint": endpoint, "errcode": errcode})
                self._observe("caller_errcode" if err.info.caller_error else "errcode", endpoint, errcode)
                if err.info.token_error and token is not None and not token_retried:
                    token_retried = True
                    self._tokens.stale(token)
                    continue
                raise err

        retrying = Retrying(
            stop=stop_after_attempt(cfg.max_attempts) | stop_before_delay(cfg.total_budget),
            wait=wait_random_exponential(multiplier=cfg.backoff_base, max=cfg.backoff_max),
            retry=retry_if_exception_type((WeChatUnavailable, WeChatBusy)),
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: self._retrying(endpoint, state.attempt_number),
        )
        try:
            return retrying(attempt)
        except WeChatError as err:
            err.reached = reached[0]
            raise

    def _retrying(self, endpoint: str, attempt: int) -> None:
        logger.info("wechat retry", extra={"endpoint": endpoint, "attempt": attempt})
        self._observe("retry", endpoint, None)

    def _once(
        self,
        endpoint: str,
        method: str,
        params: dict[str, str] | None,
        body: Callable[[], dict[str, Any]] | None,
        token: str | None,
        host: list[int],
        deadline: float,
        reached: list[bool],
    ) -> httpx.Response:
        cfg = self.config
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            raise WeChatUnavailable(endpoint, "time budget spent")
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        url = cfg.base_urls[host[0] % len(cfg.base_urls)] + endpoint
        timeout = httpx.Timeout(min(cfg.read_timeout, remaining), connect=min(cfg.connect_timeout, remaining))
        started = time.monotonic()
        try:
            resp = self._http.request(
                method, url, params=query, json=body() if body else None, timeout=timeout
            )
        except httpx.TransportError as exc:
            self._timing(endpoint, (time.monotonic() - started) * 1000)
            if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                reached[0] = True  # sent, perhaps received: WeChat may have counted it
            host[0] += 1
            logger.warning("wechat unreachable", extra={"endpoint": endpoint, "error": type(exc).__name__})
            # `from None`: the httpx exception holds the request URL, token and all.
            raise WeChatUnavailable(endpoint, type(exc).__name__) from None
        reached[0] = True
        elapsed_ms = (time.monotonic() - started) * 1000
        self._timing(endpoint, elapsed_ms)
        # DEBUG: each call's endpoint and time are in the WeChatMs.* metrics, and failures are logged
        # at WARNING below; at INFO this line was about a fifth of a request's log bytes (billed).
        logger.debug(
            "wechat call",
            extra={"endpoint": endpoint, "status": resp.status_code, "elapsed_ms": round(elapsed_ms, 1)},
        )
        if resp.status_code >= 500:
            host[0] += 1
            raise WeChatUnavailable(endpoint, f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise WeChatProtocolError(endpoint, f"HTTP {resp.status_code}")
        return resp


def _is_json(resp: httpx.Response) -> bool:
    return "json" in resp.headers.get("content-type", "") or resp.content.lstrip().startswith(b"{")


def _status(endpoint: str, resp: httpx.Response) -> WeChatResponse:
    """The errcode and errmsg of an answer; errcode 0 for a non-JSON (binary) answer such as
    getimage's photo, and for a JSON answer without one (WeChat's token and login answers carry
    no errcode when they succeed)."""
    if not _is_json(resp):
        return WeChatResponse()
    try:
        return WeChatResponse.model_validate_json(resp.content)
    except ValidationError:
        raise WeChatProtocolError(endpoint, "answer is not WeChat JSON") from None


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
