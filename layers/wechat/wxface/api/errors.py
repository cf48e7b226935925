"""Errors as the API answers them: status, snake_case code, English and Chinese message.

Body: ``{"error": {"code", "message", "message_zh", "wechat_errcode", "request_id"}}``.
"""

from __future__ import annotations

from typing import Any, Final

from ..domain.errors import (
    DomainError,
    Forbidden,
    IdempotencyConflict,
    IdempotencyInProgress,
    IdentitySourceRefused,
    InvalidBizRef,
    InvalidIdempotencyKey,
    InvalidRequest,
    KeyExpired,
    NoResult,
    NotFound,
    OrderCancelled,
    OrderExpired,
    OrderNotCancellable,
    OrderPassed,
    OrderUserErased,
    PhotoExpired,
    QuotaGuardRefused,
    RateLimited,
    SessionEnded,
    SessionExpired,
    StoreUnavailable,
    Unauthorized,
    WrongFaceApiVersion,
)
from ..identity import InvalidIdentity
from ..wechat.errors import WeChatApiError, WeChatError

__all__ = ["ApiError", "api_error", "from_domain", "from_identity", "from_wechat"]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        message_zh: str,
        *,
        wechat_errcode: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code)
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.wechat_errcode = wechat_errcode
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status} {self.code}"

    def body(self, request_id: str) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "message_zh": self.message_zh,
                "wechat_errcode": self.wechat_errcode,
                "request_id": request_id,
            }
        }


# The product's own errors (WeChat's come from the catalogue).
_ERRORS: Final[dict[str, tuple[int, str, str]]] = {
    "malformed_json": (400, "The body must be a JSON object in UTF-8", "请求体必须是 UTF-8 编码的 JSON 对象"),
    "invalid_request": (400, "The request body is missing fields or has fields of the wrong type",
                        "请求体缺少字段或字段类型错误"),
    "unauthorized": (401, "Log in first: a valid session token is required", "请先登录：需要有效的会话令牌"),
    "session_expired": (401, "The session has expired; log in again", "会话已过期，请重新登录"),
    "forbidden": (403, "This belongs to another user", "该记录属于其他用户"),
    "not_found": (404, "Not found", "未找到"),
    "no_result": (404, "No stored result yet", "暂无核身结果"),
    "key_expired": (410, "The key has expired; request a new one", "凭证已过期，请重新获取"),
    "idempotency_conflict": (409, "This Idempotency-Key was used with a different body",
                             "该 Idempotency-Key 已用于不同的请求内容"),
    "body_too_large": (413, "The body is larger than 16 KiB", "请求体超过 16 KiB"),
    "rate_limited": (429, "Too many requests; try again later", "请求过于频繁，请稍后再试"),
    "wechat_quota_guard": (429, "WeChat's budget for these calls is used up for now; try again later",
                           "微信接口调用额度暂时用尽，请稍后再试"),
    "idempotency_in_progress": (409, "A request with this Idempotency-Key is still in progress; retry shortly",
                                "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试"),
    "invalid_idempotency_key": (400, "Idempotency-Key must be 1 to 128 visible ASCII characters",
                                "Idempotency-Key 必须是 1 至 128 个可见 ASCII 字符"),
    "identity_source_refused": (403, "This deployment does not take identities from this source",
                                "本服务不接受该来源的身份信息"),
    "order_cancelled": (409, "The order was cancelled by the business; no new key can be issued from it",
                        "该核身订单已被业务方取消，不能再申请核身凭证"),
    "order_passed": (409, "The order has already passed; no new key is needed",
                     "该核身订单已核身通过，无需再申请核身凭证"),
    "order_expired": (410, "The order has expired; the business must create a new one",
                      "该核身订单已过期，请业务方重新创建"),
    "order_not_cancellable": (409, "The order has passed or expired; it can no longer be cancelled",
                              "该核身订单已核身通过或已过期，不能取消"),
    "user_erased": (409, "The user erased their data while the order was being created; nothing was kept",
                    "创建订单时该用户删除了其数据，订单未保存"),
    "photo_expired": (410, "The passing key has expired; WeChat no longer gives the photo",
                      "核身通过的凭证已过期，微信不再提供该照片"),
    "method_not_allowed": (405, "Method not allowed", "不支持该请求方法"),
    "internal_error": (500, "Something went wrong on our side", "服务器内部错误"),
    "wechat_unavailable": (503, "WeChat is unavailable; try again shortly", "微信服务暂不可用，请稍后再试"),
    "service_unavailable": (503, "The service is briefly unavailable; try again shortly", "服务暂不可用，请稍后再试"),
    "wechat_bad_response": (502, "WeChat answered something unexpected", "微信返回了无法识别的结果"),
    "wechat_error": (502, "WeChat could not handle the request; try again later", "微信暂时无法处理该请求，请稍后再试"),
}  # fmt: skip


# A 503 for WeChat (unreachable, busy, a token refused twice) has already spent the client's
# retries (up to 10 s): a few seconds later is the next sensible try.
WECHAT_RETRY_AFTER_S: Final = 5

# Which contract code each domain refusal answers (its status and messages: the table above). A
# subclass answers its base's code unless it has a row of its own.
_REFUSALS: Final[dict[type[DomainError], str]] = {
    RateLimited: "rate_limited",
    QuotaGuardRefused: "wechat_quota_guard",
    Forbidden: "forbidden",
    NotFound: "not_found",
    NoResult: "no_result",
    KeyExpired: "key_expired",
    Unauthorized: "unauthorized",
    SessionEnded: "unauthorized",
    SessionExpired: "session_expired",
    InvalidIdempotencyKey: "invalid_idempotency_key",
    IdempotencyConflict: "idempotency_conflict",
    IdempotencyInProgress: "idempotency_in_progress",
    StoreUnavailable: "service_unavailable",
    WrongFaceApiVersion: "invalid_request",
    InvalidBizRef: "invalid_request",
    InvalidRequest: "invalid_request",
    IdentitySourceRefused: "identity_source_refused",
    OrderCancelled: "order_cancelled",
    OrderPassed: "order_passed",
    OrderExpired: "order_expired",
    OrderNotCancellable: "order_not_cancellable",
    OrderUserErased: "user_erased",
    PhotoExpired: "photo_expired",
}


def refusal_code(err: DomainError) -> str:
    """The contract's code for a domain refusal."""
    for cls in type(err).__mro__:
        if cls in _REFUSALS:
            return _REFUSALS[cls]
    return "internal_error"  # pragma: no cover - every refusal has its row (tests/unit/test_error_table.py)


# What a refusal names (the contract's code stays the same; Retry-After says until when).
_QUOTA_GUARD: Final[dict[str, tuple[str, str]]] = {
    "keys": ("WeChat's budget for new face checks is used up for now; try again later",
             "微信人脸核身的新核身额度暂时用尽，请稍后再试"),
    "lookups": ("WeChat's budget for looking up face-check results is used up for now; try again later",
                "微信核身结果查询额度暂时用尽，请稍后再试"),
    "logins": ("WeChat's budget for logins is used up for now; try again later", "微信登录额度暂时用尽，请稍后再试"),
    "photos": ("WeChat's budget for verification photos is used up for now; try again later",
               "微信核身照片获取额度暂时用尽，请稍后再试"),
}  # fmt: skip
_RATE_LIMITS: Final[dict[str, tuple[str, str]]] = {
    "keys": ("You have asked for too many face-check keys this hour; try again later",
             "本小时申请核身凭证次数过多，请稍后再试"),
    "lookups": ("You have looked up results too often this hour; try again later", "本小时查询核身结果次数过多，请稍后再试"),
    "erasures": ("You have erased your data too often this hour; try again later", "本小时删除数据次数过多，请稍后再试"),
    "sessions-by-address": ("Too many logins from this network this hour; try again later",
                            "该网络本小时登录次数过多，请稍后再试"),
    "photos": ("This order's photo has been fetched as often as allowed", "该订单的核身照片获取次数已达上限"),
}  # fmt: skip


def api_error(
    code: str,
    *,
    message: str | None = None,
    message_zh: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    status, en, zh = _ERRORS[code]
    return ApiError(status, code, message or en, message_zh or zh, headers=headers)


def from_domain(err: DomainError) -> ApiError:
    """A domain refusal as the contract answers it: the code's status and messages from the one
    table above, ``Retry-After`` where waiting helps."""
    code = refusal_code(err)
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    if isinstance(err, NotFound) and err.what:
        return api_error(
            code, message=f"Unknown {err.what}", message_zh=f"未知的 {err.what}", headers=headers
        )
    named = (
        _QUOTA_GUARD.get(err.what)
        if isinstance(err, QuotaGuardRefused)
        else _RATE_LIMITS.get(err.scope or "")
        if isinstance(err, RateLimited)
        else None
    )
    if named is not None:
        return api_error(code, message=named[0], message_zh=named[1], headers=headers)
    if isinstance(err, WrongFaceApiVersion):
        field = "verify_result" if err.deployed == 1 else "verify_id"
        return api_error(
            code,
            message=f"This deployment uses face API {err.deployed}.0: send {field}",
            message_zh=f"本服务使用人脸核身 {err.deployed}.0 接口：请提供 {field}",
        )
    if isinstance(err, IdentitySourceRefused):
        if err.taken == "business":
            return api_error(
                code,
                message="This deployment verifies only identities the business's servers name: ask for a key by order_id",
                message_zh="本服务仅核验业务方订单中的身份：请使用 order_id 申请核身凭证",
            )
        return api_error(
            code,
            message="This deployment takes only identities the user types: send name and id_card_number",
            message_zh="本服务仅接受用户填写的身份信息：请提供姓名和身份证号",
        )
    if isinstance(err, OrderNotCancellable):
        passed = err.status == "passed"
        return api_error(
            code,
            message=f"The order has {'passed' if passed else 'expired'}; it can no longer be cancelled",
            message_zh=f"该核身订单{'已核身通过' if passed else '已过期'}，不能取消",
        )
    return api_error(code, headers=headers)


def from_identity(err: InvalidIdentity) -> ApiError:
    # The identity rules word each message as a whole sentence, naming the field.
    return ApiError(400, f"invalid_{err.field}", err.message, err.message_zh)


def from_wechat(err: WeChatError) -> ApiError:
    """WeChat's failure as the contract answers it; every 503 (WeChat unreachable, busy, or its
    token refused again after the one retry) says when to try again."""
    if isinstance(err, WeChatApiError) and err.info.config_error:
        # The AppID, AppSecret or IP allow-list: the public learns nothing of the configuration
        # (the errcode and its name are in the logs and WeChatErrcodesByEndpoint's records).
        return api_error("wechat_error")
    if isinstance(err, WeChatApiError):
        info = err.info
        mapped = ApiError(
            err.http_status, info.name, info.message, info.message_zh, wechat_errcode=err.errcode
        )
    else:
        mapped = api_error(err.code)  # unreachable, or an answer that cannot be read: the table's
    if mapped.status == 503:
        mapped.headers = {"Retry-After": str(WECHAT_RETRY_AFTER_S)}
    return mapped
