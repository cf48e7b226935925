"""The WeChat server-API client, its models, errors and code catalogue."""

from .catalogue import IDENTIFY_PASS, TOKEN_ERRCODES, VERIFY_PASS, CodeInfo, CodeKind, describe, lookup
from .client import ClientConfig, TokenSource, WeChatClient, redact_url
from .errors import (
    WeChatApiError,
    WeChatBusy,
    WeChatCredentialsRejected,
    WeChatError,
    WeChatLoginCodeError,
    WeChatLoginRefused,
    WeChatNotFound,
    WeChatProtocolError,
    WeChatQuotaExceeded,
    WeChatResultExpired,
    WeChatTokenError,
    WeChatUnavailable,
)

__all__ = [
    "IDENTIFY_PASS",
    "TOKEN_ERRCODES",
    "VERIFY_PASS",
    "ClientConfig",
    "CodeInfo",
    "CodeKind",
    "TokenSource",
    "WeChatApiError",
    "WeChatBusy",
    "WeChatClient",
    "WeChatCredentialsRejected",
    "WeChatError",
    "WeChatLoginCodeError",
    "WeChatLoginRefused",
    "WeChatNotFound",
    "WeChatProtocolError",
    "WeChatQuotaExceeded",
    "WeChatResultExpired",
    "WeChatTokenError",
    "WeChatUnavailable",
    "describe",
    "lookup",
    "redact_url",
]
