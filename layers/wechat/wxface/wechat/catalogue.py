"""One catalogue of every WeChat code the product knows, keyed by (kind, code).

WeChat reuses numbers across three code spaces, so a bare number means nothing:

- ``API``: ``errcode`` of a server API call. Non-zero means the *call* failed; each entry carries
  the HTTP status this backend answers with.
- ``IDENTIFY_RET`` (1.0 ``getinfo``) and ``VERIFY_RET`` (2.0 ``queryverifyinfo``): the call worked
  and this is how the face check ended. Never an HTTP error: anything but a pass becomes
  ``passed: false`` in a 200.
- ``CALLBACK``: the ``errCode`` the 1.0 mini-program API hands the front end (the seed reuses the
  ``identify_ret`` numbers), and ``SUPPORT_CHECK``: ``wx.checkIsSupportFacialRecognition``, which
  reuses 10001-10003 with other meanings.

Some result codes are not an outcome yet (:data:`NOT_FINAL`): WeChat answers them, with errcode 0,
to a lookup made before the user has finished the face check. They are answered but never stored,
and a later lookup asks WeChat again.

Sources: the 1.0 seed document (tables "回调结果说明", "错误码对应信息", section 5.3), the 2.0
``queryverifyinfo`` page (the stored copies of its ``verify_ret`` table end at 10004; the rest, from
10005 on, as independent SDKs such as WxJava and SKIT transcribe that page in its own order), and
WeChat's global errcodes (the token and login pages). docs/api.md says which codes are final.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from .endpoints import TOKEN_ENDPOINTS

__all__ = [
    "IDENTIFY_PASS",
    "NOT_FINAL",
    "TOKEN_ENDPOINTS",
    "TOKEN_ERRCODES",
    "VERIFY_PASS",
    "CodeInfo",
    "CodeKind",
    "all_codes",
    "describe",
    "describe_api",
    "is_final",
    "lookup",
]


class CodeKind(enum.StrEnum):
    API = "api"
    IDENTIFY_RET = "identify_ret"
    VERIFY_RET = "verify_ret"
    CALLBACK = "callback"
    SUPPORT_CHECK = "support_check"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    kind: CodeKind
    code: int
    name: str
    message: str
    message_zh: str
    http_status: int | None = None  # API errcodes only
    retryable: bool = False  # API: transient, retried with backoff
    token_error: bool = False  # API: the access token is stale; re-read it once
    # API: about the caller (a bad or used login code, a high-risk user, an unknown or expired
    # verify_result), not this backend's health: counted by code, not in the WeChat-errors alarm.
    caller_error: bool = False
    # API: this deployment's configuration (AppID, AppSecret, IP allow-list): the caller gets a
    # generic 502, the cause goes only to the logs and metrics (never disclosed to the public).
    config_error: bool = False
    # Result codes: False for a check WeChat has not finished yet (never stored, asked again).
    final: bool = True


IDENTIFY_PASS: Final = 0
VERIFY_PASS: Final = 10000
TOKEN_ERRCODES: Final = frozenset({40001, 40014, 42001})

# Result codes that are not an outcome: WeChat answers them (errcode 0) before the user has
# finished. 1.0: identify_ret 10005 (the seed: 正在检测中, finish_time 0). 2.0: verify_ret 10005
# (正在检测中) and 10300 (未完成核身), what queryverifyinfo answers for a verify_id whose face check
# has not been done.
NOT_FINAL: Final[dict[CodeKind, frozenset[int]]] = {
    CodeKind.IDENTIFY_RET: frozenset({10005}),
    CodeKind.VERIFY_RET: frozenset({10005, 10300}),
}

# The endpoints that take the AppSecret itself. WeChat's getAccessToken page documents 40001 there
# as "AppSecret 错误或者 AppSecret 不属于这个公众号": on these endpoints no access token was sent, so
# 40001 is this deployment's configuration, never a stale token.

# (code, name, English, Chinese, http status, flags: "retry", "token", "caller", "config" or "")
_API: Final[tuple[tuple[int, str, str, str, int, str], ...]] = (
    (-1, "wechat_busy", "WeChat is busy; try again shortly", "微信系统繁忙，请稍后再试", 503, "retry"),
    (
        40001,
        "access_token_invalid",
        "The access token is invalid or not the latest",
        "access_token 无效或不是最新",
        503,
        "token",
    ),
    (40014, "access_token_illegal", "The access token is not valid", "不合法的 access_token", 503, "token"),
    (42001, "access_token_expired", "The access token has expired", "access_token 已过期", 503, "token"),
    (41001, "access_token_missing", "The access token is missing", "缺少 access_token 参数", 502, "config"),
    (40013, "invalid_appid", "WeChat rejected the AppID", "AppID 无效", 502, "config"),
    (40125, "invalid_appsecret", "WeChat rejected the AppSecret", "AppSecret 无效", 502, "config"),
    (
        40164,
        "ip_not_allowlisted",
        "The caller's IP address is not on the account's allow-list",
        "调用方 IP 不在白名单中",
        502,
        "config",
    ),
    (
        45009,
        "wechat_daily_quota",
        "The daily WeChat API quota has been reached",
        "已达到微信接口每日调用上限",
        429,
        "",
    ),
    (
        45011,
        "wechat_rate_limited",
        "The WeChat API per-minute limit has been reached",
        "已达到微信接口频率限制，请稍后再试",
        429,
        "",
    ),
    (
        40029,
        "invalid_login_code",
        "The wx.login code is invalid or expired",
        "wx.login 的 code 无效或已过期",
        400,
        "caller",
    ),
    (
        40163,
        "login_code_used",
        "The wx.login code has already been used",
        "wx.login 的 code 已被使用",
        400,
        "caller",
    ),
    (
        40226,
        "login_high_risk",
        "WeChat refused this user's login as high risk",
        "微信判定该用户为高风险用户，已拒绝登录",
        403,
        "caller",
    ),
    (
        48001,
        "api_not_enabled",
        "WeChat has not enabled this API for the app (getimage, the verification photo, must be "
        "enabled by WeChat on request)",
        "微信未为该小程序开通此接口（获取核身照片 getimage 需向微信申请开通）",
        502,
        "",
    ),
    (84001, "verify_result_illegal", "The verify_result is not valid", "非法的 verify_result", 404, "caller"),
    (
        84002,
        "verify_info_expired",
        "The verification information has expired",
        "用户信息已过期",
        410,
        "caller",
    ),
    (
        84003,
        "verify_info_not_found",
        "The verification information does not exist",
        "用户信息不存在",
        404,
        "caller",
    ),
    (84006, "name_or_id_missing", "The name or ID number is empty", "姓名或身份证号为空", 400, ""),
)

# The seed's callback table, which 1.0 identify_ret reuses (0 = pass).
_IDENTIFY: Final[tuple[tuple[int, str, str, str], ...]] = (
    (0, "passed", "Face verification passed", "识别成功"),
    (10001, "bad_parameters", "Parameter error", "参数错误"),
    (10002, "face_features_not_detected", "Face feature detection failed", "人脸特征检测失败"),
    (10003, "id_number_mismatch", "The ID number does not match", "身份证号不匹配"),
    (10004, "face_mismatch", "The face does not match the police record", "公安比对人脸信息不匹配"),
    (10005, "checking", "Verification is still in progress", "正在检测中"),
    (10006, "appid_not_permitted", "This AppID has no face-verification permission", "appid 没有权限"),
    (10007, "image_fetch_failed", "The backend failed to fetch the image", "后台获取图片失败"),
    (10008, "police_system_failed", "The police system failed", "公安系统失败"),
    (
        10009,
        "no_police_photo",
        "The police record has no photo for this ID number",
        "公安未查到身份证照片比对源",
    ),
    (
        10010,
        "photo_quality_too_low",
        "The photo quality does not meet the police comparison requirements",
        "照片质量不满足公安比对要求",
    ),
    (
        10011,
        "id_not_enabled_for_comparison",
        "This ID number is not enabled for police comparison",
        "身份证信息未开通公安比对权限",
    ),
    (10012, "credit_check_failed", "Credit verification failed", "征信验证失败"),
    (10013, "credit_system_error", "The credit system failed", "征信系统错误"),
    (
        10014,
        "police_failed_credit_ok",
        "The police system failed; the credit check succeeded",
        "公安系统失败，征信系统成功",
    ),
    (
        10015,
        "police_service_unavailable",
        "The police service is temporarily unavailable",
        "公安服务暂时不可用",
    ),
    (10016, "image_store_failed", "Storing the user's image failed", "存储用户图片失败"),
    (10017, "illegal_identify_id", "The identify_id is not valid", "非法 identify_id"),
    (10018, "user_not_found", "The user information does not exist", "用户信息不存在"),
    (10020, "timed_out", "Verification timed out", "认证超时"),
    (
        10021,
        "duplicate_request",
        "Duplicate request; the previous result is returned",
        "重复的请求，返回上一次的结果",
    ),
    (
        10022,
        "bad_user_info",
        "The user information is malformed (check the JSON)",
        "用户信息错误，请检测 json 格式",
    ),
    (
        10026,
        "not_in_police_database",
        "The ID number is not in the police comparison database",
        "用户身份证数据不在公安比对数据库中",
    ),
    (10027, "speech_recognition_failed", "Speech recognition failed", "语音识别失败"),
    (10028, "lip_movement_failed", "Lip movement detection failed", "唇动检测失败"),
    (10029, "police_gateway_timeout", "The police gateway timed out", "微警超时"),
    (10030, "id_binding_failed", "Binding the ID card failed", "绑定身份证失败"),
    (
        10031,
        "merchant_not_configured",
        "No credit merchant ID, or the mini-program has no nickname",
        "没有申请征信商户号或公众号/小程序没有设置昵称",
    ),
    (
        10032,
        "not_in_credit_database",
        "The ID number is not in the credit database",
        "用户身份证数据不在征信数据库中",
    ),
    (10040, "not_utf8", "The request data must be UTF-8", "请求数据编码不对，必须是 UTF8 编码"),
    (10041, "illegal_user_id_key", "The user_id_key is not valid", "非法 user_id_key"),
    (10042, "too_frequent", "Too many requests; try again later", "请求过于频繁，稍后再重试"),
    (10045, "system_failure", "System failure", "系统失败"),
    (10052, "credit_limit_exceeded", "The credit check request limit was exceeded", "请求数超出征信的限制"),
    (
        10057,
        "different_person_detected",
        "Different faces were detected during the check",
        "检测过程中人脸主体不一致",
    ),
    (10066, "duplicate_bioid", "Duplicate face serial number (bioid)", "人脸流水号 bioid 重复"),
    (10069, "liveness_unavailable", "Liveness detection is temporarily unavailable", "活体检测暂时不可用"),
    (90100, "user_cancelled", "The user cancelled", "用户取消"),
    (90101, "user_not_authorised", "The user did not authorise", "用户未授权"),
    (90102, "library_error", "The face-check library on the device failed", "底层库出错"),
    (90103, "cdn_upload_failed", "Uploading to the CDN failed", "CDN 上传出错"),
    (90104, "config_fetch_failed", "Fetching the configuration failed", "获取配置信息出错"),
    (90105, "confirm_page_failed", "Fetching the confirmation page failed", "获取确认页信息失败"),
    (90106, "camera_init_failed", "The camera failed to start", "相机初始化失败"),
    (90107, "capture_timed_out", "Capturing the face timed out", "用户采集人脸超时"),
    (90108, "too_much_movement", "Too much movement during capture", "用户采集过程中抖动剧烈"),
    (90109, "device_unsupported", "This device cannot capture faces", "设备不支持人脸采集"),
    (90199, "unknown_error", "Unknown error", "未知错误"),
)

# 2.0 queryverifyinfo verify_ret (10000 = pass).
_VERIFY: Final[tuple[tuple[int, str, str, str], ...]] = (
    (10000, "passed", "Face verification passed", "识别成功"),
    (10001, "bad_parameters", "Parameter error", "参数错误"),
    (10002, "face_features_not_detected", "Face feature detection failed", "人脸特征检测失败"),
    (10003, "id_number_mismatch", "The ID number does not match", "身份证号不匹配"),
    (10004, "face_mismatch", "The face does not match", "比对人脸信息不匹配"),
    # From here to 10300: the rest of the page's table, as the SDKs transcribe it (see above).
    # Not final: the check is still running, or not done yet. The lookup answers them, stores
    # nothing, and the next lookup asks again.
    (10005, "checking", "The face check is still being checked; look again shortly", "正在检测中"),
    # Failures on WeChat's side (system failures, timeouts, a repeated request): final for this
    # key, never a pass; the user may start a new face check with a new key.
    (10006, "appid_not_permitted", "This AppID has no face-verification permission", "appid 没有权限"),
    (
        10007,
        "image_fetch_failed",
        "WeChat's backend failed to fetch the image; start a new face check",
        "后台获取图片失败，请重新发起核身",
    ),
    (10008, "system_failure", "WeChat's system failed; start a new face check", "系统失败，请重新发起核身"),
    (10010, "photo_quality_low", "The photo quality is too low", "照片质量较低"),
    (10012, "comparison_failed", "The comparison failed", "比对验证失败"),
    (
        10013,
        "wechat_system_error",
        "WeChat's system erred; start a new face check",
        "系统错误，请重新发起核身",
    ),
    (
        10014,
        "system_failure_10014",
        "WeChat's system failed; start a new face check",
        "系统失败，请重新发起核身",
    ),
    (
        10015,
        "system_failure_10015",
        "WeChat's system failed; start a new face check",
        "系统失败，请重新发起核身",
    ),
    (
        10016,
        "image_store_failed",
        "Storing the user's image failed; start a new face check",
        "存储用户图片失败，请重新发起核身",
    ),
    (10017, "illegal_id", "The id is not valid", "非法 Id"),
    (10018, "user_not_found", "The user information does not exist", "用户信息不存在"),
    (10020, "timed_out", "Verification timed out", "认证超时"),
    (
        10021,
        "duplicate_request",
        "A repeated request: WeChat gave no new result for it; start a new face check",
        "重复的请求，返回上一次的结果（本次未给出新结果，请重新发起核身）",
    ),
    (
        10026,
        "not_in_authoritative_source",
        "The identity is not in the authoritative comparison database",
        "用户身份数据不在权威源比对库中",
    ),
    (10029, "request_timed_out", "The request timed out; start a new face check", "请求超时，请重新发起核身"),
    (10040, "not_utf8", "The request data must be UTF-8", "请求数据编码不对，必须是 UTF8 编码"),
    (10041, "illegal_user", "The user is not valid", "非法用户"),
    (10042, "too_frequent", "Too many requests; try again later", "请求过于频繁，稍后再重试"),
    (
        10045,
        "system_failure_10045",
        "WeChat's system failed; start a new face check",
        "系统失败，请重新发起核身",
    ),
    (
        10052,
        "request_timed_out_10052",
        "The request timed out; start a new face check",
        "请求超时，请重新发起核身",
    ),
    (
        10300,
        "not_finished",
        "The face check is not finished yet; look again once the user has finished it",
        "未完成核身",
    ),
    (90001, "device_unsupported", "This device does not support face detection", "设备不支持人脸检测"),
    (90002, "cancelled_in_tutorial", "The user cancelled on the tutorial page", "用户在教程页取消"),
    (90003, "cancelled_at_start", "The user cancelled while starting", "用户在初始化时取消"),
    (90004, "cancelled_during_check", "The user cancelled during recognition", "用户在识别过程中取消"),
    (90005, "cancelled_during_upload", "The user cancelled during upload", "用户在上传时取消"),
    (90006, "cancelled_on_release", "The user cancelled while releasing", "用户在释放时取消"),
    (90007, "network_error", "Network error", "网络错误"),
    (90008, "camera_not_authorised", "Camera permission not granted", "相机权限未授权"),
    (90009, "microphone_not_authorised", "Microphone permission not granted", "麦克风权限未授权"),
    (
        90010,
        "camera_and_microphone_not_authorised",
        "Neither camera nor microphone permission granted",
        "相机和麦克风权限都未授权",
    ),
    (90011, "capture_invalid", "The captured face data is invalid", "人脸数据采集无效"),
    (90012, "upload_failed", "Uploading the face data failed", "人脸数据上传失败"),
    (90013, "sdk_init_failed", "The SDK failed to initialise", "SDK初始化库失败"),
    (90014, "upload_id_missing", "The upload ID was not initialised", "上传ID未初始化"),
    (90015, "face_config_failed", "Fetching the face configuration failed", "获取人脸配置失败"),
    (90016, "preview_error", "Camera preview error", "预览错误"),
    (90017, "recognition_timed_out", "Recognition timed out", "识别过程超时"),
    (90018, "system_error", "System error", "系统错误"),
    (90019, "cdn_queue_failed", "Queueing the CDN upload failed", "CDN上传添加队列失败"),
    (90020, "cdn_upload_failed", "The CDN upload failed", "CDN上传失败"),
    (90021, "cdn_start_failed", "The CDN upload could not start", "CDN启动错误"),
    (90022, "front_page_failed", "Fetching the front page information failed", "获取前置页信息失败"),
    (90023, "face_tracking_failed", "Face tracking failed", "人脸追踪失败"),
    (90024, "exited_on_confirm_page", "The user left on the confirmation page", "用户在确认页退出"),
    (90104, "face_config_failed_2", "Fetching the face configuration failed", "获取人脸配置失败"),
    (90105, "confirm_data_failed", "Fetching the confirmation data failed", "获取确认数据失败"),
    (90106, "camera_failed", "The camera failed", "相机失败"),
    (90107, "detection_timed_out", "Detection timed out", "用户检测超时"),
    (90109, "device_unsupported_2", "This device does not support face detection", "设备不支持人脸检测"),
    (90110, "agreement_fetch_failed", "Fetching the agreement failed", "获取协议信息失败"),
    (90199, "client_system_error", "System error on the user's device", "用户系统错误"),
)

_SUPPORT: Final[tuple[tuple[int, str, str, str], ...]] = (
    (0, "supported", "This device supports face capture", "支持人脸采集"),
    (
        10001,
        "no_front_camera",
        "Not supported: the device has no front camera",
        "不支持人脸采集：设备没有前置摄像头",
    ),
    (
        10002,
        "model_not_downloaded",
        "Not supported: a required model could not be downloaded",
        "不支持人脸采集：没有下载到必要模型",
    ),
    (
        10003,
        "disabled_by_backend",
        "Not supported: disabled by WeChat's backend",
        "不支持人脸采集：后台控制不支持",
    ),
)


def _build() -> dict[tuple[CodeKind, int], CodeInfo]:
    table: dict[tuple[CodeKind, int], CodeInfo] = {}
    for code, name, en, zh, status, flags in _API:
        table[(CodeKind.API, code)] = CodeInfo(
            CodeKind.API,
            code,
            name,
            en,
            zh,
            status,
            retryable=flags == "retry",
            token_error=flags == "token",
            caller_error=flags == "caller",
            config_error=flags == "config",
        )
    for kind, rows in (
        (CodeKind.IDENTIFY_RET, _IDENTIFY),
        (CodeKind.CALLBACK, _IDENTIFY),
        (CodeKind.VERIFY_RET, _VERIFY),
        (CodeKind.SUPPORT_CHECK, _SUPPORT),
    ):
        unfinished = NOT_FINAL.get(kind, frozenset())
        for code, name, en, zh in rows:
            table[(kind, code)] = CodeInfo(kind, code, name, en, zh, final=code not in unfinished)
    return table


# 40001 where only the AppID and AppSecret were sent (TOKEN_ENDPOINTS).
_SECRET_REJECTED: Final = CodeInfo(
    CodeKind.API,
    40001,
    "appsecret_rejected",
    "WeChat rejected the AppSecret (40001 at the token endpoint)",
    "AppSecret 错误或不属于该账号",
    502,
    config_error=True,
)


_TABLE: Final = _build()


def lookup(kind: CodeKind, code: int) -> CodeInfo | None:
    """The catalogue entry for ``(kind, code)``, or None when WeChat's documents do not list it."""
    return _TABLE.get((kind, code))


def describe(kind: CodeKind, code: int) -> CodeInfo:
    """Like :func:`lookup`, with a generic entry for codes WeChat does not document.

    An unknown API errcode maps to 502: the product cannot act on what it does not know.
    """
    found = _TABLE.get((kind, code))
    if found is not None:
        return found
    if kind is CodeKind.API:
        return CodeInfo(
            kind, code, "wechat_error", f"WeChat answered with errcode {code}", f"微信返回错误码 {code}", 502
        )
    return CodeInfo(
        kind,
        code,
        "not_passed",
        f"Face verification did not pass (code {code})",
        f"人脸核身未通过（错误码 {code}）",
    )


def describe_api(endpoint: str, errcode: int) -> CodeInfo:
    """An API errcode as answered by ``endpoint``: like :func:`describe`, except that 40001 at a
    token endpoint is the AppSecret (configuration: 502 and the alarm), not a stale token."""
    if errcode == 40001 and endpoint in TOKEN_ENDPOINTS:
        return _SECRET_REJECTED
    return describe(CodeKind.API, errcode)


def is_final(kind: CodeKind, code: int) -> bool:
    """Whether a result code is an outcome (False: WeChat has not finished the check yet)."""
    return code not in NOT_FINAL.get(kind, frozenset())


def all_codes() -> tuple[CodeInfo, ...]:
    return tuple(_TABLE.values())
