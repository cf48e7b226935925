"""WeChat's behaviour, in memory, on the simulator's own clock.

Each WeChat endpoint is a method that returns the JSON answer or raises :class:`WxErr` with the
errcode WeChat would send. Control operations (the ``/sim`` routes) raise :class:`ControlError`.
This module knows nothing about HTTP, so it can be tested on its own.

This is an independent implementation of WeChat's rules (its cert_hash and MD5s are computed
here, not imported from the product), so contract tests can catch the product's mistakes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .config import SimConfig

# Errcodes WeChat documents.
OK = 0
INVALID_CREDENTIAL = 40001  # token invalid / retired
INVALID_GRANT_TYPE = 40002
INVALID_APPID = 40013
INVALID_CODE = 40029
INVALID_ARGS = 40097
INVALID_APPSECRET = 40125
CODE_USED = 40163
ACCESS_TOKEN_MISSING = 41001
CODE_MISSING = 41008
ACCESS_TOKEN_EXPIRED = 42001
DAILY_QUOTA = 45009
MINUTE_QUOTA = 45011
DATA_FORMAT_ERROR = 47001
API_UNAUTHORIZED = 48001  # the app has not been granted this API (getimage: on request only)
ILLEGAL_VERIFY_RESULT = 84001
NAME_OR_ID_EMPTY = 84006

# Placeholders: WeChat documents no errcode for these 2.0 cases (see docs/local.md, "The WeChat simulator",
# and docs/architecture.md, "What the simulator assumes").
SEQ_NO_USED = 84101
VERIFY_ID_EXPIRED = 84102
VERIFY_MISMATCH = 84103
VERIFY_ID_NOT_FOUND = 84105

IDENTIFY_PASS = 0
VERIFY_PASS = 10000
# Result codes of a check that is not finished: WeChat answers them with errcode 0. 2.0's
# queryverifyinfo answers 10300 (未完成核身) for a verify_id whose face check has not been done,
# and 10005 (正在检测中) while it is still being checked; 1.0's getinfo 10005 with finish_time 0.
STILL_CHECKING = 10005
NOT_FINISHED = 10300

_OUT_SEQ_NO = re.compile(r"[A-Za-z0-9_-]{5,32}")
_VERIFY_RESULT = re.compile(r"vr_[0-9a-f]{48}")

# A 1x1 JPEG: what getimage returns for a finished 2.0 verification.
TINY_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////"
    "////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)


class WxErr(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class ControlError(Exception):
    """A malformed /sim control call (answered 400)."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def sim_cert_hash(cert_type: str, cert_name: str, cert_no: str) -> str:
    joined = f"cert_type={_b64(cert_type)}&cert_name={_b64(cert_name)}&cert_no={_b64(cert_no)}"
    return hashlib.sha256(joined.encode()).hexdigest()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class _Token:
    value: str
    expires_at: float
    revoked: bool = False


@dataclass
class _UserIdKey:
    name: str
    id_card_number: str
    expires_at: float


@dataclass
class _VerifyResult:
    openid: str
    user_id_key: str
    name_md5: str
    id_md5: str
    identify_ret: int
    at: float
    validate_data: str
    expires_at: float


@dataclass
class _VerifyId:
    out_seq_no: str
    cert_hash: str
    openid: str
    expires_at: float
    verify_ret: int | None = None


@dataclass
class _Fault:
    path: str
    errcode: int | None
    http_status: int | None
    delay_ms: int | None
    remaining: int


@dataclass
class Fault:
    """What the HTTP layer must do to one call: wait, then answer an errcode or an HTTP status."""

    delay_ms: int = 0
    errcode: int | None = None
    http_status: int | None = None


@dataclass
class SimState:
    config: SimConfig = field(default_factory=SimConfig)
    secret: str = ""  # set by /sim/app-secret (a reset in WeChat's console); "" = the configured one
    clock_offset: float = 0.0
    tokens: dict[str, _Token] = field(default_factory=dict)
    plain_latest: str | None = None
    stable_current: str | None = None
    force_refresh_times: list[float] = field(default_factory=list)
    login_codes: dict[str, tuple[str, float, bool]] = field(default_factory=dict)  # code: openid, exp, used
    user_id_keys: dict[str, _UserIdKey] = field(default_factory=dict)
    verify_results: dict[str, _VerifyResult] = field(default_factory=dict)
    verify_ids: dict[str, _VerifyId] = field(default_factory=dict)
    used_out_seq_nos: set[str] = field(default_factory=set)
    faults: list[_Fault] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    daily_counts: dict[tuple[str, int], int] = field(default_factory=dict)
    minute_counts: dict[tuple[str, int], int] = field(default_factory=dict)

    # --- clock ----------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def _day(self) -> int:
        return int((self.now() + 8 * 3600) // 86400)  # WeChat's day ends at midnight Beijing time

    # --- bookkeeping shared by every WeChat endpoint -----------------------------------------

    def begin_call(self, path: str) -> Fault | None:
        """Count a call and consume the first fault injected for its path, if any."""
        self.calls[path] = self.calls.get(path, 0) + 1
        for fault in self.faults:
            if fault.path == path and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return Fault(fault.delay_ms or 0, fault.errcode, fault.http_status)
        return None

    def charge_quota(self, path: str) -> None:
        daily = self.config.daily_quotas.get(path, 0)
        if daily:
            key = (path, self._day())
            if self.daily_counts.get(key, 0) >= daily:
                raise WxErr(DAILY_QUOTA, "reach max api daily quota limit")
            self.daily_counts[key] = self.daily_counts.get(key, 0) + 1
        minute = self.config.minute_quotas.get(path, 0)
        if minute:
            mkey = (path, int(self.now() // 60))
            if self.minute_counts.get(mkey, 0) >= minute:
                raise WxErr(MINUTE_QUOTA, "api minute-quota reach limit")
            self.minute_counts[mkey] = self.minute_counts.get(mkey, 0) + 1

    def check_token(self, token: str | None) -> None:
        if not token:
            raise WxErr(ACCESS_TOKEN_MISSING, "access_token missing")
        found = self.tokens.get(token)
        if found is None or found.revoked:
            raise WxErr(INVALID_CREDENTIAL, "invalid credential, access_token is invalid or not latest")
        if self.now() >= found.expires_at:
            raise WxErr(ACCESS_TOKEN_EXPIRED, "access_token expired")

    def _check_app(self, grant_type: object, appid: object, secret: object, expected_grant: str) -> None:
        if grant_type != expected_grant:
            raise WxErr(INVALID_GRANT_TYPE, "invalid grant_type")
        if appid != self.config.appid:
            raise WxErr(INVALID_APPID, "invalid appid")
        if secret != (self.secret or self.config.secret):
            raise WxErr(INVALID_APPSECRET, "invalid appsecret")

    def _mint(self) -> _Token:
        token = _Token(secrets.token_urlsafe(96), self.now() + self.config.token_ttl)
        self.tokens[token.value] = token
        return token

    def _token_answer(self, token: _Token) -> dict[str, Any]:
        return {"access_token": token.value, "expires_in": math.ceil(token.expires_at - self.now())}

    # --- /cgi-bin/token and /cgi-bin/stable_token ------------------------------------------

    def token(self, grant_type: object, appid: object, secret: object) -> dict[str, Any]:
        """Every call mints a new token; the previous one stays valid for the overlap only."""
        self._check_app(grant_type, appid, secret, "client_credential")
        self.charge_quota("/cgi-bin/token")
        previous = self.tokens.get(self.plain_latest) if self.plain_latest else None
        if previous is not None:
            previous.expires_at = min(previous.expires_at, self.now() + self.config.token_overlap)
        token = self._mint()
        self.plain_latest = token.value
        return self._token_answer(token)

    def stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        """The same token while it is valid; a new one in its last ``token_overlap`` seconds
        (the old one still works until it expires). ``force_refresh`` retires it at once, at
        most ``force_refresh_per_day`` a day; within ``force_refresh_interval`` of the last
        forced refresh WeChat does not refresh and answers the current token."""
        self._check_app(body.get("grant_type"), body.get("appid"), body.get("secret"), "client_credential")
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise WxErr(INVALID_ARGS, "invalid args: force_refresh")
        self.charge_quota("/cgi-bin/stable_token")
        now = self.now()
        current = self.tokens.get(self.stable_current) if self.stable_current else None
        if force:
            recent = [t for t in self.force_refresh_times if t > now - 86400]
            self.force_refresh_times = recent
            too_soon = bool(recent) and now - recent[-1] < self.config.force_refresh_interval
            if too_soon and current is not None and not current.revoked and now < current.expires_at:
                return self._token_answer(current)
            if len(recent) >= self.config.force_refresh_per_day:
                raise WxErr(DAILY_QUOTA, "reach max api daily quota limit (force_refresh)")
            self.force_refresh_times.append(now)
            if current is not None:
                current.revoked = True
            current = None
        if current is None or current.revoked or now >= current.expires_at - self.config.token_overlap:
            current = self._mint()
            self.stable_current = current.value
        return self._token_answer(current)

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.revoked = True

    # --- login ----------------------------------------------------------------------------

    def new_login_code(self, openid: object) -> str:
        if not isinstance(openid, str) or not openid.strip() or len(openid) > 128:
            raise ControlError("openid must be a non-empty string of at most 128 characters")
        code = secrets.token_hex(16)
        self.login_codes[code] = (openid, self.now() + self.config.login_code_ttl, False)
        return code

    def jscode2session(
        self, appid: object, secret: object, js_code: object, grant_type: object
    ) -> dict[str, Any]:
        self._check_app(grant_type, appid, secret, "authorization_code")
        if not js_code:
            raise WxErr(CODE_MISSING, "missing code")
        self.charge_quota("/sns/jscode2session")
        entry = self.login_codes.get(str(js_code))
        if entry is None:
            raise WxErr(INVALID_CODE, "invalid code")
        openid, expires_at, used = entry
        if used:
            raise WxErr(CODE_USED, "code been used")
        if self.now() >= expires_at:
            raise WxErr(INVALID_CODE, "invalid code (expired)")
        self.login_codes[str(js_code)] = (openid, expires_at, True)
        return {"openid": openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}

    # --- face 1.0 -------------------------------------------------------------------------

    def getuseridkey(self, body: dict[str, Any]) -> dict[str, Any]:
        name, number = body.get("name"), body.get("id_card_number")
        if not isinstance(name, str) or not isinstance(number, str) or not name or not number:
            raise WxErr(NAME_OR_ID_EMPTY, "name or id_card_number empty")
        self.charge_quota("/cityservice/face/identify/getuseridkey")
        key = secrets.token_hex(16)
        self.user_id_keys[key] = _UserIdKey(name, number, self.now() + self.config.key_ttl)
        return {"user_id_key": key, "expires_in": self.config.key_ttl}

    def verify_v1(self, body: dict[str, Any]) -> str:
        """The phone side of 1.0: the user did the face check (with a key or with name + number)."""
        openid = body.get("openid")
        if not isinstance(openid, str) or not openid:
            raise ControlError("openid is required")
        result_code = body.get("result_code", IDENTIFY_PASS)
        if not isinstance(result_code, int) or isinstance(result_code, bool):
            raise ControlError("result_code must be an integer")
        key = body.get("user_id_key")
        if key is not None:
            entry = self.user_id_keys.get(key) if isinstance(key, str) else None
            if entry is None:
                raise ControlError("unknown user_id_key")
            if self.now() >= entry.expires_at:
                raise ControlError("user_id_key has expired")
            name, number = entry.name, entry.id_card_number
        else:
            raw_name, raw_number = body.get("name"), body.get("id_card_number")
            if (
                not isinstance(raw_name, str)
                or not isinstance(raw_number, str)
                or not raw_name
                or not raw_number
            ):
                raise ControlError("give user_id_key, or name and id_card_number")
            name, number, key = raw_name, raw_number, ""
        now = self.now()
        verify_result = "vr_" + secrets.token_hex(24)
        self.verify_results[verify_result] = _VerifyResult(
            openid=openid,
            user_id_key=key,
            name_md5=_md5(name),
            id_md5=_md5(number[:-1] + number[-1:].upper()),
            identify_ret=result_code,
            at=now,
            validate_data=f"{secrets.randbelow(10000):04d}",
            expires_at=now + self.config.verify_result_ttl,
        )
        return verify_result

    def getinfo(self, body: dict[str, Any]) -> dict[str, Any]:
        """A ``verify_result`` answers for ``verify_result_ttl`` (300 s); a malformed, unknown or
        expired one is 84001, as WeChat staff describe it (the seed's 84002 and 84003 are only
        produced through ``/sim/faults``)."""
        verify_result = body.get("verify_result")
        if not isinstance(verify_result, str) or not _VERIFY_RESULT.fullmatch(verify_result):
            raise WxErr(ILLEGAL_VERIFY_RESULT, "illegal identity_id")
        self.charge_quota("/cityservice/face/identify/getinfo")
        entry = self.verify_results.get(verify_result)
        if entry is None or self.now() >= entry.expires_at:
            raise WxErr(ILLEGAL_VERIFY_RESULT, "illegal identity_id")
        finished = entry.identify_ret != STILL_CHECKING
        return {
            "identify_ret": entry.identify_ret,
            "identify_time": int(entry.at),
            "validate_data": entry.validate_data,
            "openid": entry.openid,
            "user_id_key": entry.user_id_key,
            "finish_time": int(entry.at) if finished else 0,
            "id_card_number_md5": entry.id_md5,
            "name_utf8_md5": entry.name_md5,
        }

    # --- face 2.0 -------------------------------------------------------------------------

    def getverifyid(self, body: dict[str, Any]) -> dict[str, Any]:
        out_seq_no, cert, openid = body.get("out_seq_no"), body.get("cert_info"), body.get("openid")
        if not isinstance(out_seq_no, str) or not _OUT_SEQ_NO.fullmatch(out_seq_no):
            raise WxErr(INVALID_ARGS, "invalid args: out_seq_no")
        if not isinstance(cert, dict) or cert.get("cert_type") != "IDENTITY_CARD":
            raise WxErr(INVALID_ARGS, "invalid args: cert_info")
        name, number = cert.get("cert_name"), cert.get("cert_no")
        if not isinstance(name, str) or not isinstance(number, str) or not name or not number:
            raise WxErr(INVALID_ARGS, "invalid args: cert_info")
        if not isinstance(openid, str) or not openid:
            raise WxErr(INVALID_ARGS, "invalid args: openid")
        if out_seq_no in self.used_out_seq_nos:
            raise WxErr(SEQ_NO_USED, "out_seq_no already used")
        self.charge_quota("/cityservice/face/identify/getverifyid")
        self.used_out_seq_nos.add(out_seq_no)
        verify_id = "vid_" + secrets.token_urlsafe(36)
        self.verify_ids[verify_id] = _VerifyId(
            out_seq_no=out_seq_no,
            cert_hash=sim_cert_hash("IDENTITY_CARD", name, number),
            openid=openid,
            expires_at=self.now() + self.config.key_ttl,
        )
        return {"verify_id": verify_id, "expires_in": self.config.key_ttl}

    def verify_v2(self, body: dict[str, Any]) -> None:
        """The phone side of 2.0: ``wx.requestFacialVerify({verifyId})`` ran for ``openid``."""
        openid, verify_id = body.get("openid"), body.get("verify_id")
        if not isinstance(openid, str) or not openid:
            raise ControlError("openid is required")
        result_code = body.get("result_code", VERIFY_PASS)
        if not isinstance(result_code, int) or isinstance(result_code, bool):
            raise ControlError("result_code must be an integer")
        entry = self.verify_ids.get(verify_id) if isinstance(verify_id, str) else None
        if entry is None:
            raise ControlError("unknown verify_id")
        if self.now() >= entry.expires_at:
            raise ControlError("verify_id has expired")
        if entry.openid != openid:
            raise ControlError("verify_id was issued for another openid")
        entry.verify_ret = result_code

    def _verify_id(self, body: dict[str, Any], path: str) -> _VerifyId:
        fields = [body.get(k) for k in ("verify_id", "out_seq_no", "cert_hash", "openid")]
        if not all(isinstance(v, str) and v for v in fields):
            raise WxErr(INVALID_ARGS, "invalid args")
        verify_id, out_seq_no, cert_hash, openid = fields
        self.charge_quota(path)
        entry = self.verify_ids.get(str(verify_id))
        if entry is None:
            raise WxErr(VERIFY_ID_NOT_FOUND, "verify_id not found")
        if (entry.out_seq_no, entry.cert_hash, entry.openid) != (out_seq_no, cert_hash, openid):
            raise WxErr(VERIFY_MISMATCH, "verify_id does not match out_seq_no, cert_hash or openid")
        if self.now() >= entry.expires_at:
            raise WxErr(VERIFY_ID_EXPIRED, "verify_id expired")
        return entry

    def queryverifyinfo(self, body: dict[str, Any]) -> dict[str, Any]:
        """errcode 0 and the check's ``verify_ret``: 10300 while the user has not done it."""
        entry = self._verify_id(body, "/cityservice/face/identify/queryverifyinfo")
        return {"verify_ret": NOT_FINISHED if entry.verify_ret is None else entry.verify_ret}

    def getimage(self, body: dict[str, Any]) -> bytes | dict[str, Any]:
        """The photo of a finished check; for one not finished (assumed: WeChat documents
        nothing for it) the same JSON as ``queryverifyinfo``, with no photo."""
        entry = self._verify_id(body, "/cityservice/face/identify/getimage")
        if entry.verify_ret is None or entry.verify_ret == STILL_CHECKING:
            return {"verify_ret": NOT_FINISHED if entry.verify_ret is None else entry.verify_ret}
        return TINY_JPEG

    # --- control --------------------------------------------------------------------------

    def add_fault(self, body: dict[str, Any]) -> None:
        path = body.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ControlError("path must be a WeChat path such as /cityservice/face/identify/getinfo")
        given = [k for k in ("errcode", "http_status", "delay_ms") if k in body]
        if len(given) != 1:
            raise ControlError("give exactly one of errcode, http_status, delay_ms")
        value = body[given[0]]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ControlError(f"{given[0]} must be an integer")
        if given[0] == "http_status" and not 100 <= value <= 599:
            raise ControlError("http_status must be 100-599")
        if given[0] == "delay_ms" and not 0 <= value <= 120_000:
            raise ControlError("delay_ms must be 0-120000")
        times = body.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ControlError("times must be a positive integer")
        self.faults.append(
            _Fault(
                path=path,
                errcode=value if given[0] == "errcode" else None,
                http_status=value if given[0] == "http_status" else None,
                delay_ms=value if given[0] == "delay_ms" else None,
                remaining=times,
            )
        )

    def advance_clock(self, body: dict[str, Any]) -> None:
        seconds = body.get("advance_s")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 10**9:
            raise ControlError("advance_s must be a number of seconds, 0 or more")
        self.clock_offset += float(seconds)

    def reset_app_secret(self, body: dict[str, Any]) -> None:
        """The operator resets the AppSecret in WeChat's console: the old one stops working."""
        secret = body.get("secret")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 64:
            raise ControlError("secret must be a string of 8 to 64 characters")
        self.secret = secret

    def reset(self) -> None:
        """Faults cleared, call counts and quotas zeroed; issued tokens, codes and keys stay."""
        self.faults.clear()
        self.calls.clear()
        self.daily_counts.clear()
        self.minute_counts.clear()
        self.force_refresh_times.clear()
