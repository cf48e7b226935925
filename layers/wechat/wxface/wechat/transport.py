"""The WeChat transport: one attempt at one WeChat endpoint, and what came back, as data.

One pooled ``httpx.Client`` per instance (create one per container), explicit connect and read
timeouts, the base URL and a fallback host from configuration. It sends what a :class:`Call`
describes, once, to the host it is told, with the token it is given, and answers a
:class:`Reply`: WeChat's errcode, or the transport failure or HTTP 5xx that stopped the attempt,
and whether the request may have reached WeChat. It admits nothing, fetches no token, retries
nothing: that is the calling policy's (``wxface.domain.wechat_calls``), its only caller.

The typed calls (``get_info(...)`` and the others) build the :class:`Call` of each endpoint;
:func:`answer_of` reads a successful reply into the endpoint's answer model.

Nothing here logs a URL with its query string (``access_token`` / ``secret`` live there), a
request body, or a response body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

import httpx
import msgspec

from ..identity import CERT_TYPE_IDENTITY_CARD
from .endpoints import (
    DEFAULT_BASE_URL,
    DEFAULT_FALLBACK_BASE_URL,
    P_GETIMAGE,
    P_GETINFO,
    P_GETUSERIDKEY,
    P_GETVERIFYID,
    P_JSCODE2SESSION,
    P_QUERYVERIFYINFO,
    P_STABLE_TOKEN,
    P_TOKEN,
)
from .errors import WeChatProtocolError
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
    Secret,
    StableTokenRequest,
    UserIdKey,
    VerifyId,
    WeChatRequest,
    WeChatResponse,
    decode,
)

__all__ = ["Call", "Reply", "TransportConfig", "WeChatTransport", "answer_of", "redact_url"]

logger = logging.getLogger("wxface.wechat")

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


@dataclass(frozen=True)
class TransportConfig:
    base_url: str = DEFAULT_BASE_URL
    fallback_base_url: str | None = DEFAULT_FALLBACK_BASE_URL
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    user_agent: str = "wechat-face-verify-sam/0.1"
    base_urls: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        urls = [self.base_url.rstrip("/")]
        if self.fallback_base_url and self.fallback_base_url.rstrip("/") not in urls:
            urls.append(self.fallback_base_url.rstrip("/"))
        object.__setattr__(self, "base_urls", tuple(urls))


R = TypeVar("R", bound=WeChatResponse)


@dataclass(frozen=True, repr=False)
class Call(Generic[R]):
    """One request to one endpoint, and the model its answer is read into (``None``: a binary
    answer, getimage's photo). ``repr`` names the endpoint only: the body and the query hold
    names, ID numbers and the AppSecret."""

    endpoint: str
    answer: type[R] | None
    method: str = "POST"
    params: Mapping[str, str] = field(default_factory=dict)
    body: WeChatRequest | None = None
    with_token: bool = True
    out_seq_no: str = ""  # getverifyid: the sequence number this attempt sends

    def __repr__(self) -> str:
        return f"Call({self.endpoint})"


@dataclass(frozen=True, repr=False)
class Reply:
    """What one attempt came back with. ``failure``: a transport failure or HTTP 5xx (the attempt
    may be made again, at the other host), else WeChat's ``errcode`` (0: success) and
    ``content``. ``reached``: the request may have reached WeChat (and counted against its quota);
    False only when the connection was never made."""

    endpoint: str
    reached: bool
    failure: str | None = None
    errcode: int = 0
    errmsg: str = ""
    content: bytes = b""
    is_json: bool = False

    def __repr__(self) -> str:  # the content may be a token, a session_key or a photo
        return f"Reply({self.endpoint}, failure={self.failure!r}, errcode={self.errcode})"


class WeChatTransport:
    """One attempt per :meth:`send`. Create one per container and reuse it (it pools connections)."""

    def __init__(
        self, config: TransportConfig | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config or TransportConfig()
        self._transport = transport
        # Made on the first send: a route that never calls WeChat (an order read, a stored
        # result answered from the table) never builds the connection pool.
        self._client: httpx.Client | None = None

    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                transport=self._transport,
                timeout=httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=55),
                headers={"User-Agent": self.config.user_agent},
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def send(self, call: Call[R], *, token: str | None, host: int, time_left: float) -> Reply:
        """``call`` sent once to host number ``host`` (modulo the hosts), within ``time_left``
        seconds. A WeChat answer that cannot be read raises :class:`WeChatProtocolError`."""
        cfg = self.config
        query = dict(call.params)
        if token is not None:
            query["access_token"] = token
        url = cfg.base_urls[host % len(cfg.base_urls)] + call.endpoint
        timeout = httpx.Timeout(min(cfg.read_timeout, time_left), connect=min(cfg.connect_timeout, time_left))
        body = call.body.wire() if call.body is not None else None
        try:
            resp = self._http.request(call.method, url, params=query, json=body, timeout=timeout)
        except httpx.TransportError as exc:
            # Sent, perhaps received, unless the connection itself failed.
            reached = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            logger.warning(
                "wechat unreachable", extra={"endpoint": call.endpoint, "error": type(exc).__name__}
            )
            # The exception is not kept: it holds the request URL, token and all.
            return Reply(call.endpoint, reached=reached, failure=type(exc).__name__)
        # DEBUG: each call's endpoint and time are in the WeChatMs.* metrics, and failures are
        # logged at WARNING; at INFO this line was about a fifth of a request's log bytes (billed).
        logger.debug("wechat call", extra={"endpoint": call.endpoint, "status": resp.status_code})
        if resp.status_code >= 500:
            return Reply(call.endpoint, reached=True, failure=f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise WeChatProtocolError(call.endpoint, f"HTTP {resp.status_code}")
        is_json = "json" in resp.headers.get("content-type", "") or resp.content.lstrip().startswith(b"{")
        status = _status(call.endpoint, resp.content) if is_json else WeChatResponse()
        return Reply(
            call.endpoint,
            reached=True,
            errcode=status.errcode,
            errmsg=status.errmsg,
            content=resp.content,
            is_json=is_json,
        )


def _status(endpoint: str, content: bytes) -> WeChatResponse:
    """The errcode and errmsg of a JSON answer; 0 for one without (WeChat's token and login
    answers carry no errcode when they succeed)."""
    try:
        return decode(content, WeChatResponse)
    except msgspec.DecodeError:  # ValidationError is one too
        raise WeChatProtocolError(endpoint, "answer is not WeChat JSON") from None


def answer_of(call: Call[R], reply: Reply) -> R:
    """A successful reply read into the call's answer model."""
    if call.answer is None:  # pragma: no cover - binary answers are read by photo_of
        raise TypeError(f"{call.endpoint} answers bytes: use photo_of")
    try:
        return decode(reply.content, call.answer)
    except msgspec.DecodeError:
        # The validation error would quote the input (a token, a session_key): drop it.
        raise WeChatProtocolError(
            call.endpoint, f"unexpected answer shape for {call.answer.__name__}"
        ) from None


def photo_of(reply: Reply) -> bytes:
    """getimage's photo. An empty body, or JSON without an errcode (such as a check that is not
    finished), is not a photo."""
    if not reply.content or reply.is_json:
        raise WeChatProtocolError(reply.endpoint, "no photo in the answer")
    return reply.content


# --- the calls, typed ---------------------------------------------------------------------------


def stable_token(appid: str, secret: Secret | str, *, force_refresh: bool = False) -> Call[AccessToken]:
    """``POST /cgi-bin/stable_token``: the same token while valid; renewed 5 min before expiry."""
    body = StableTokenRequest(appid=appid, secret=_secret(secret), force_refresh=force_refresh)
    return Call(P_STABLE_TOKEN, AccessToken, body=body, with_token=False)


def token(appid: str, secret: Secret | str) -> Call[AccessToken]:
    """``GET /cgi-bin/token``: mints a new token and retires the previous one (5 min grace)."""
    params = {"grant_type": "client_credential", "appid": appid, "secret": _reveal(secret)}
    return Call(P_TOKEN, AccessToken, method="GET", params=params, with_token=False)


def code2session(appid: str, secret: Secret | str, js_code: str) -> Call[Code2Session]:
    """``GET /sns/jscode2session``: a single-use ``wx.login`` code for openid and session_key."""
    params = {
        "appid": appid,
        "secret": _reveal(secret),
        "js_code": js_code,
        "grant_type": "authorization_code",
    }
    return Call(P_JSCODE2SESSION, Code2Session, method="GET", params=params, with_token=False)


def get_user_id_key(name: str, id_card_number: str) -> Call[UserIdKey]:
    body = GetUserIdKeyRequest(name=Secret(name), id_card_number=Secret(id_card_number))
    return Call(P_GETUSERIDKEY, UserIdKey, body=body)


def get_info(verify_result: str) -> Call[GetInfoResponse]:
    return Call(P_GETINFO, GetInfoResponse, body=GetInfoRequest(verify_result=verify_result))


def get_verify_id(cert_name: str, cert_no: str, openid: str, out_seq_no: str) -> Call[VerifyId]:
    """``getverifyid`` with this attempt's ``out_seq_no`` (WeChat refuses a reused one)."""
    cert = CertInfo(cert_type=CERT_TYPE_IDENTITY_CARD, cert_name=Secret(cert_name), cert_no=Secret(cert_no))
    body = GetVerifyIdRequest(out_seq_no=out_seq_no, cert_info=cert, openid=openid)
    return Call(P_GETVERIFYID, VerifyId, body=body, out_seq_no=out_seq_no)


def query_verify_info(
    verify_id: str, out_seq_no: str, cert_hash: str, openid: str
) -> Call[QueryVerifyInfoResponse]:
    body = QueryVerifyInfoRequest(
        verify_id=verify_id, out_seq_no=out_seq_no, cert_hash=cert_hash, openid=openid
    )
    return Call(P_QUERYVERIFYINFO, QueryVerifyInfoResponse, body=body)


def get_image(verify_id: str, out_seq_no: str, cert_hash: str, openid: str) -> Call[WeChatResponse]:
    """``getimage``: the verification photo as bytes (errcodes arrive as JSON)."""
    body = QueryVerifyInfoRequest(
        verify_id=verify_id, out_seq_no=out_seq_no, cert_hash=cert_hash, openid=openid
    )
    return Call(P_GETIMAGE, None, body=body)


def _secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def _reveal(value: Secret | str) -> str:
    return value.get_secret_value() if isinstance(value, Secret) else value
