"""WeChat's hosts and the endpoint paths the product calls: the one place they are written."""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"
DEFAULT_FALLBACK_BASE_URL: Final = "https://api2.weixin.qq.com"  # WeChat's disaster-recovery host

P_STABLE_TOKEN: Final = "/cgi-bin/stable_token"  # noqa: S105 - a path, not a password
P_TOKEN: Final = "/cgi-bin/token"  # noqa: S105 - a path, not a password
P_JSCODE2SESSION: Final = "/sns/jscode2session"
P_GETUSERIDKEY: Final = "/cityservice/face/identify/getuseridkey"
P_GETINFO: Final = "/cityservice/face/identify/getinfo"
P_GETVERIFYID: Final = "/cityservice/face/identify/getverifyid"
P_QUERYVERIFYINFO: Final = "/cityservice/face/identify/queryverifyinfo"
P_GETIMAGE: Final = "/cityservice/face/identify/getimage"

# Sent the AppID and AppSecret, never an access token.
TOKEN_ENDPOINTS: Final = frozenset({P_TOKEN, P_STABLE_TOKEN})
