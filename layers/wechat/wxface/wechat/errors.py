"""Typed exceptions for WeChat calls.

``str`` and ``repr`` carry the endpoint, the errcode and the catalogue's message, never a request
value: no name, ID number, secret, token or session_key can reach a log line through them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

# The catalogue (every errcode's name, messages and status) is read when WeChat answers an
# errcode, never on the success path: imported there, not at every cold start.
if TYPE_CHECKING:
    from .catalogue import CodeInfo

__all__ = [
    "WeChatApiError",
    "WeChatBusy",
    "WeChatCredentialsRejected",
    "WeChatError",
    "WeChatLoginCodeError",
    "WeChatNotFound",
    "WeChatProtocolError",
    "WeChatQuotaExceeded",
    "WeChatResultExpired",
    "WeChatTokenError",
    "WeChatUnavailable",
    "error_for_errcode",
]

# WeChat's errmsg sometimes quotes what it was sent; keep only a short, scrubbed prefix.
_SCRUB: Final = re.compile(r"[0-9A-Za-z_\-]{12,}|\d{6,}|[^\x00-\x7f]+")


def scrub_errmsg(errmsg: str) -> str:
    return _SCRUB.sub("…", errmsg)[:120]


class WeChatError(Exception):
    """Base class: any failure talking to WeChat. ``code`` names it in the contract's error table
    (``wxface.api.errors``, which holds the status and the messages); an errcode's own code and
    status are the catalogue's (:class:`WeChatApiError`)."""

    code: str = "wechat_error"

    def __init__(self, endpoint: str, detail: str, *, reached: bool = True) -> None:
        super().__init__(endpoint, detail)
        self.endpoint = endpoint
        self.detail = detail
        # Whether any attempt may have reached WeChat (and counted against its quota): False
        # only when every attempt failed to connect (the calling policy knows); True when unsure.
        self.reached = reached

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, detail={self.detail!r})"


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached, timed out, or answered 5xx / -1 on every attempt."""

    code = "wechat_unavailable"


class WeChatProtocolError(WeChatError):
    """WeChat answered something this client cannot read (not JSON, wrong shape)."""

    code = "wechat_bad_response"


class WeChatApiError(WeChatError):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, endpoint: str, errcode: int, errmsg: str = "") -> None:
        from .catalogue import describe_api

        self.info: CodeInfo = describe_api(endpoint, errcode)
        super().__init__(endpoint, f"errcode {errcode} ({self.info.name})")
        self.errcode = errcode
        self.errmsg = scrub_errmsg(errmsg)

    @property
    def http_status(self) -> int:
        """The catalogue's status for the errcode (502 for one it does not know)."""
        return self.info.http_status or 502

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.info.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r}, errcode={self.errcode})"


class WeChatBusy(WeChatApiError):
    """errcode -1: WeChat is busy (retried with backoff before this is raised)."""


class WeChatTokenError(WeChatApiError):
    """40001 / 40014 / 42001: the access token is invalid, not the latest, or expired."""


class WeChatCredentialsRejected(WeChatApiError):
    """40013 / 40125 / 40164 (and 40001 at a token endpoint): bad AppID or AppSecret, or an IP
    not on the allow-list. Alarm."""


class WeChatQuotaExceeded(WeChatApiError):
    """45009 / 45011: the daily quota or the per-minute limit is reached."""


class WeChatLoginCodeError(WeChatApiError):
    """40029 / 40163: the wx.login code is invalid, expired or already used."""


class WeChatLoginRefused(WeChatApiError):
    """40226: WeChat refuses this user's login as high risk (403; not an operator's alarm)."""


class WeChatNotFound(WeChatApiError):
    """84001 / 84003: the verify_result is illegal or unknown."""


class WeChatResultExpired(WeChatApiError):
    """84002: the verification information has expired."""


_BY_ERRCODE: Final[dict[int, type[WeChatApiError]]] = {
    -1: WeChatBusy,
    40001: WeChatTokenError,
    40014: WeChatTokenError,
    42001: WeChatTokenError,
    40013: WeChatCredentialsRejected,
    40125: WeChatCredentialsRejected,
    40164: WeChatCredentialsRejected,
    45009: WeChatQuotaExceeded,
    45011: WeChatQuotaExceeded,
    40029: WeChatLoginCodeError,
    40163: WeChatLoginCodeError,
    40226: WeChatLoginRefused,
    84001: WeChatNotFound,
    84003: WeChatNotFound,
    84002: WeChatResultExpired,
}


def error_for_errcode(endpoint: str, errcode: int, errmsg: str = "") -> WeChatApiError:
    """The typed exception for a non-zero errcode (WeChatApiError for any other code). At a token
    endpoint, which is sent the AppSecret and no access token, 40001 is the AppSecret."""
    from .catalogue import TOKEN_ENDPOINTS

    if errcode == 40001 and endpoint in TOKEN_ENDPOINTS:
        return WeChatCredentialsRejected(endpoint, errcode, errmsg)
    return _BY_ERRCODE.get(errcode, WeChatApiError)(endpoint, errcode, errmsg)
