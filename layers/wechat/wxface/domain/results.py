"""Result lookup: ask WeChat once, check the result belongs to the caller and the identity the
key was issued for, store it (final results only), and answer repeats from the table."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

from ..answers import ResultAnswer, from_json, to_json
from ..ports.records import (
    AuditEntry,
    KeyRecord,
    OrderChange,
    OrderChanged,
    OrderPhoto,
    PendingCheck,
    StoredResult,
    UserErased,
)
from ..ports.store import Keys, OrderRecords, PendingChecks, Results, Users
from ..wechat.catalogue import IDENTIFY_PASS, VERIFY_PASS, CodeKind, describe, is_final
from ..wechat.errors import WeChatApiError, WeChatError
from .errors import (
    Forbidden,
    KeyExpired,
    NoResult,
    NotFound,
    QuotaGuardRefused,
    SessionEnded,
    WrongFaceApiVersion,
)
from .events import Outbox, result_id
from .limits import (
    LAST_LOOK_S,
    USER_STATE_TTL_S,
    Limit,
    Priority,
    bound_by_credits,
    bound_by_key,
    charge_user,
)
from .sessions import Session
from .stack_keys import DataKey, SealBroken, SealingKey, sha256_hex
from .turns import in_turns
from .wechat_calls import WeChatCalls

logger = logging.getLogger("wxface.results")

LOOKUP_ROUTE = "POST /v1/face/results"
SWEEP_PAGE = 50  # pending checks read from one partition at a time
SWEEP_DEFAULT_S = 5.0  # a run's length when the caller names no deadline
SWEEP_CALL_BUDGET_S = 3.0  # a sweep lookup's whole WeChat budget (retries included)
ERASE_ROUTE = "DELETE /v1/me"


def build_answer(
    api_version: Literal[1, 2],
    result_code: int,
    identity_matched: bool | None,
    verified_at: int,
    validate_data: str | None,
    biz_ref: str | None = None,
    order_id: str | None = None,
) -> ResultAnswer:
    kind = CodeKind.IDENTIFY_RET if api_version == 1 else CodeKind.VERIFY_RET
    wechat_pass = result_code == (IDENTIFY_PASS if api_version == 1 else VERIFY_PASS)
    info = describe(kind, result_code)
    message, message_zh = info.message, info.message_zh
    if wechat_pass and identity_matched is True:
        message_zh = "人脸核身成功"  # the product's headline (WeChat's own table says 识别成功)
    elif wechat_pass and identity_matched is False:
        message = "The face check passed, but not for the identity this user's key was issued for"
        message_zh = "人脸核身通过，但与为该用户签发凭证时的身份不一致"
    elif wechat_pass and identity_matched is None:
        message = "The face check passed, but it is not bound to an identity this service issued a key for"
        message_zh = "人脸核身通过，但未绑定本服务签发凭证时的身份，不能视为核身通过"
    return ResultAnswer(
        api_version=api_version,
        passed=wechat_pass and identity_matched is True,  # a pass bound to the identity issued here
        result_code=result_code,
        message=message,
        message_zh=message_zh,
        identity_matched=identity_matched,
        verified_at=verified_at,
        validate_data=validate_data,
        biz_ref=biz_ref,
        order_id=order_id,
        identity_source="business" if order_id is not None else "user",
    )


# Attempts at storing a result of an order's key while the order keeps changing under it.
ORDER_ATTEMPTS = 4


class ResultStore(Keys, Results, Users, OrderRecords, PendingChecks, Protocol):
    """What looking results up needs of the table: the keys and results, the user's limits and
    erasure, the orders a result moves, and the 2.0 sweep's pending checks."""


@dataclass(frozen=True)
class ResultLookup:
    """``POST /v1/face/results`` for either face API version, the latest result and erasure."""

    table: ResultStore
    wechat: WeChatCalls
    data_key: DataKey
    retention_s: int
    lookups_per_hour: int = 60
    audit_retention_s: int = 180 * 86400
    api_version: Literal[1, 2] = 2  # the deployment's
    forget_idempotency: Callable[[str], None] = lambda owner: None  # erasure: the owner's records
    sealing_key: Callable[[], SealingKey] | None = None  # 2.0: opens the stored cert_hash
    outbox: Outbox | None = None  # the business's events (None: none are written)

    def look_up(
        self, caller: Session, api_version: Literal[1, 2], reference: str, now: float | None = None
    ) -> ResultAnswer:
        """``POST /v1/face/results``: ``reference`` is a 1.0 verify_result or a 2.0 verify_id, as
        the deployment uses (the other version's is refused before anything is counted or called)."""
        if api_version != self.api_version:
            raise WrongFaceApiVersion(self.api_version)
        return self.v1(caller, reference, now) if api_version == 1 else self.v2(caller, reference, now)

    def v1(self, caller: Session, verify_result: str, now: float | None = None) -> ResultAnswer:
        openid = caller.openid
        at, owner, ref = self._begin(caller, verify_result, now)
        stored = self._checked(self.table.get_result(ref), owner, at)
        if stored is not None:
            return stored
        # A 1.0 verify_result names its key only in getinfo's answer: the user's lookup credits
        # (a few per key asked for lately) decide, and past them it is refused first when
        # WeChat's budget runs low.
        info = self.wechat.get_info(  # 84001 → 404, 84002 → 410
            verify_result, priority=bound_by_credits(self.table, owner, caller, at)
        )
        if info.openid != openid:
            raise Forbidden
        identity_matched: bool | None = None
        key_ref: str | None = None  # the key issued here this result is bound to, if any
        biz_ref: str | None = None
        mine: KeyRecord | None = None  # that key, if it was issued to the caller
        if info.user_id_key:
            key_ref = sha256_hex(info.user_id_key)
            record = self.table.get_key(key_ref)
            if record is None or not record.live(at):
                key_ref = None  # never issued here, erased, or past its lookup window: unbound
            else:
                mine = record if record.owner == owner else None
                biz_ref = mine.biz_ref if mine else None  # never another's
                mac = self.data_key.mac
                identity_matched = (
                    record.owner == owner
                    and record.id_mac == mac("id_md5", (info.id_card_number_md5 or "").lower())
                    and record.name_mac == mac("name_md5", (info.name_utf8_md5 or "").lower())
                )
        answer = build_answer(
            1,
            info.identify_ret,
            identity_matched,
            info.identify_time or int(at),
            info.validate_data or None,
            biz_ref,
            mine.order_id if mine else None,
        )
        if not is_final(CodeKind.IDENTIFY_RET, info.identify_ret):
            return answer  # still checking: answered, never stored; the next lookup asks again
        return self._store(ref, owner, openid, answer, at, key_ref, caller.epoch, mine)

    def v2(self, caller: Session, verify_id: str, now: float | None = None) -> ResultAnswer:
        openid = caller.openid
        at, owner, ref = self._begin(caller, verify_id, now)
        result, record = self.table.get_result_and_key(ref)
        stored = self._checked(result, owner, at)
        if stored is not None:
            return stored
        if record is None or not record.live(at) or record.api_version != 2:
            raise NotFound("verify_id")
        if record.owner != owner:
            raise Forbidden
        if at >= record.expires_at:
            raise KeyExpired
        try:
            the_cert_hash = self._sealing().open(record.cert_hash or "", bound_to=ref)
        except SealBroken:
            raise NotFound("verify_id") from None  # altered or moved in the table: not a key of ours
        # Bound for the key's first few WeChat lookups (the client's polling), then refused first.
        priority = bound_by_key(self.table.count_key_lookup(ref))
        return self._ask_and_store_v2(
            ref, record, verify_id, openid, the_cert_hash, at, caller.epoch, priority
        )

    def _ask_and_store_v2(
        self,
        ref: str,
        record: KeyRecord,
        verify_id: str,
        openid: str,
        the_cert_hash: str,
        at: float,
        epoch: int,
        priority: Priority,
    ) -> ResultAnswer:
        """``queryverifyinfo`` with the key's stored binding, and the answer stored (with its
        event) when it is final: the user's own lookup and the sweep's. A check WeChat has not
        finished (10005, 10300) is answered, never stored, and its pending check stays."""
        answer = self.wechat.query_verify_info(
            verify_id, record.out_seq_no or "", the_cert_hash, openid, priority=priority
        )
        # The verify_id was issued here for this user's identity, and WeChat checked cert_hash.
        result = build_answer(2, answer.verify_ret, True, int(at), None, record.biz_ref, record.order_id)
        if not is_final(CodeKind.VERIFY_RET, answer.verify_ret):
            return result
        return self._store(ref, record.owner, openid, result, at, ref, epoch, record)

    def _order_change(
        self, key: KeyRecord | None, ref: str, answer: ResultAnswer, result_ttl: int, now: float
    ) -> OrderChange | None:
        """What the result changes in its key's order (read now; None: no order, or gone)."""
        if key is None or key.order_id is None:
            return None
        from .orders import RESULT_ROUTE, after_result

        order, _ = self.table.get_order(key.order_id)
        if order is None or order.owner != key.owner:
            return None  # erased, or past its retention: the result stands alone
        photo = OrderPhoto(key.photo_ticket, key.expires_at) if key.photo_ticket else None
        audit = AuditEntry(
            order.owner,
            RESULT_ROUTE,
            "order_passed",
            at_ms=int(now * 1000),
            ttl=int(now) + self.audit_retention_s,
            result_code=answer.result_code,
            order_id=order.order_id,
        )
        return after_result(order, ref, passed=answer.passed, result_ttl=result_ttl, photo=photo, audit=audit)

    def _sealing(self) -> SealingKey:
        if self.sealing_key is None:  # pragma: no cover - a wiring mistake
            raise RuntimeError("this use needs the sealing key")
        return self.sealing_key()

    def for_business(self, openid: str, now: float | None = None) -> tuple[ResultAnswer, str]:
        """``GET /v1/users/{openid}/face/results/latest`` (the business's servers, authorised by
        IAM at the API): the user's newest stored result. Not counted against the user's limits:
        the user did not ask for it."""
        at = time.time() if now is None else now
        body = self.table.latest_result(self.data_key.owner(openid), int(at))
        if body is None:
            raise NoResult
        return from_json(body, ResultAnswer), openid

    def sweep(
        self,
        now: float | None = None,
        *,
        deadline: float | None = None,
        page: int = SWEEP_PAGE,
        workers: int = 1,
        clock: Callable[[], float] = time.monotonic,
        part: int = 0,
        parts: int = 1,
    ) -> SweepReport:
        """2.0: look up the keys issued here whose result nobody looked up (the app was closed),
        before WeChat stops accepting them, and store (and report) what WeChat answers. Counted
        by the quota guard, refused before anything a user waits for ("background").

        ``page`` checks at a time from each partition in turn (``queue_shards_to_read``; with
        ``parts`` runs side by side, this run's ``part`` of them: every ``parts``-th from
        ``part``), looked up by ``workers`` threads at once, until no partition has a full page
        left that made progress or ``deadline`` (on ``clock``; default a few seconds) has passed."""
        at = time.time() if now is None else now
        end = clock() + SWEEP_DEFAULT_S if deadline is None else deadline
        outcomes: list[str] = []
        shards = [s for s in self.table.queue_shards_to_read(int(at // 60)) if s % parts == part]

        def visit(shard: int) -> bool:
            checks = self.table.pending_due(shard, int(at), page)
            progressed = False
            for outcome in self._each(pool, workers, checks, at):
                outcomes.append(outcome)
                if outcome == "refused":
                    raise _RunOver  # WeChat's budget is for users now: the next run
                progressed |= outcome != "retry"
            return len(checks) >= page and progressed  # more may be due (not while WeChat is away)

        with ThreadPoolExecutor(max(1, workers)) as pool, contextlib.suppress(_RunOver):
            in_turns(shards, visit, clock, end)
        return functools.reduce(SweepReport.add, outcomes, SweepReport())

    def _each(
        self, pool: ThreadPoolExecutor, workers: int, checks: list[PendingCheck], at: float
    ) -> Iterator[str]:
        if workers <= 1:
            return (self._sweep_or_refused(c, at) for c in checks)
        return pool.map(lambda c: self._sweep_or_refused(c, at), checks)

    def _sweep_or_refused(self, check: PendingCheck, at: float) -> str:
        try:
            return self._sweep_one(check, at)
        except QuotaGuardRefused:
            return "refused"

    def _sweep_one(self, check: PendingCheck, at: float) -> str:
        ref = check.ref
        result, record = self.table.get_result_and_key(ref)
        if result is not None or record is None or not record.live(at) or at >= record.expires_at:
            self.table.pending_done(check)  # looked up already, erased, or too late to ask
            return "settled"
        try:
            secret = json.loads(self._sealing().open(check.sealed, bound_to=f"pending:{ref}"))
            openid, verify_id = str(secret["openid"]), str(secret["verify_id"])
            the_cert_hash = self._sealing().open(record.cert_hash or "", bound_to=ref)
        except (SealBroken, ValueError, KeyError):
            logger.error("a pending check does not open: dropped")
            self.table.pending_done(check)
            return "dropped"
        if self.data_key.owner(openid) != record.owner:
            self.table.pending_done(check)  # not this key's user: never look it up for them
            return "dropped"
        try:
            answer = self._ask_and_store_v2(
                ref, record, verify_id, openid, the_cert_hash, at, check.epoch, "background"
            )
            if is_final(CodeKind.VERIFY_RET, answer.result_code):
                return "stored"
        except SessionEnded:
            self.table.pending_done(check)  # the user was erased meanwhile: nothing of it is kept
            return "erased"
        except WeChatApiError:
            pass  # WeChat names no result for this key now: as for a check not finished
        except WeChatError:
            return "retry"  # WeChat unreachable: the next run tries again
        # Not finished (verify_ret 10005 / 10300), or no result named: look once more in the
        # key's last minutes, unless this was that look.
        last_look = record.expires_at - LAST_LOOK_S
        if at < last_look:
            self.table.pending_later(check, last_look)
            return "unfinished"
        self.table.pending_done(check)
        return "abandoned"

    def latest(self, caller: Session, now: float | None = None) -> ResultAnswer:
        """``GET /v1/face/results/latest``."""
        return latest(
            caller, table=self.table, data_key=self.data_key, lookups_per_hour=self.lookups_per_hour, now=now
        )

    def erase(self, caller: Session, now: float | None = None) -> int:
        """``DELETE /v1/me`` (erasures share the lookups' hourly limit)."""
        return erase(
            caller,
            table=self.table,
            data_key=self.data_key,
            erasures_per_hour=self.lookups_per_hour,
            audit_retention_s=self.audit_retention_s,
            forget_idempotency=self.forget_idempotency,
            outbox=self.outbox,
            now=now,
        )

    def _begin(self, caller: Session, reference: str, now: float | None) -> tuple[float, str, str]:
        """Every lookup counts against the caller's limit, found or not (probing costs too)."""
        at = time.time() if now is None else now
        owner = self.data_key.owner(caller.openid)
        charge_user(self.table, Limit("lookups", self.lookups_per_hour), owner, caller, at)
        return at, owner, sha256_hex(reference)

    def _checked(self, stored: StoredResult | None, owner: str, now: float) -> ResultAnswer | None:
        if stored is None or not stored.live(now):
            return None
        if stored.owner != owner:
            raise Forbidden
        return from_json(stored.body, ResultAnswer)

    def _store(
        self,
        ref: str,
        owner: str,
        openid: str,
        answer: ResultAnswer,
        now: float,
        key_ref: str | None,
        epoch: int,
        key: KeyRecord | None = None,
    ) -> ResultAnswer:
        """Store a final result once, with the event that reports it (sent at once, or by the
        emitter later) and, in 2.0, without the sweep's pending check of its key; under the
        user's erasure epoch ``epoch`` (:class:`SessionEnded` if an erasure began since: nothing
        is stored and no event is sent). A result of a key issued from an order (``key``, the
        caller's) moves the order in the same transaction."""
        audit = AuditEntry(
            owner,
            LOOKUP_ROUTE,
            "passed" if answer.passed else "not_passed",
            at_ms=int(now * 1000),
            ttl=int(now) + self.audit_retention_s,
            result_code=answer.result_code,
        )
        stored = StoredResult(owner, to_json(answer), int(now) + self.retention_s, key_ref)
        event = (
            self.outbox.for_result(ref, result_id(self.data_key, ref), openid, answer, now)
            if self.outbox is not None
            else None
        )
        settles = ref if answer.api_version == 2 else None
        for attempt in range(1, ORDER_ATTEMPTS + 1):
            try:
                put = self.table.put_result(
                    ref,
                    stored,
                    answer.verified_at,
                    audit=audit,
                    outbox=event,
                    settles=settles,
                    epoch=epoch,
                    order=self._order_change(key, ref, answer, stored.ttl, now),
                )
                break
            except UserErased:
                raise SessionEnded from None
            except OrderChanged:
                if attempt == ORDER_ATTEMPTS:
                    raise  # pragma: no cover - an order changing this often is a fault: a 500, nothing stored
        else:  # pragma: no cover
            raise AssertionError("unreachable")
        if put:
            if event is not None and self.outbox is not None:
                self.outbox.send_now([event], now)
            return answer
        # Someone stored it first (a concurrent lookup): answer what is stored.
        return self._checked(self.table.get_result(ref), owner, now) or answer


class _RunOver(Exception):
    """A sweep run stops here (the quota guard refused a lookup)."""


@dataclass(frozen=True)
class SweepReport:
    """What one sweep run did, by outcome (``stored``, ``unfinished``, ``abandoned``, ...)."""

    counts: tuple[tuple[str, int], ...] = ()

    def add(self, outcome: str) -> SweepReport:
        counts = dict(self.counts)
        counts[outcome] = counts.get(outcome, 0) + 1
        return SweepReport(tuple(sorted(counts.items())))

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def latest(
    caller: Session,
    *,
    table: ResultStore,
    data_key: DataKey,
    lookups_per_hour: int = 60,
    now: float | None = None,
) -> ResultAnswer:
    at = time.time() if now is None else now
    owner = data_key.owner(caller.openid)
    charge_user(table, Limit("lookups", lookups_per_hour), owner, caller, at)
    body = table.latest_result(owner, int(at))
    if body is None:
        raise NoResult
    return from_json(body, ResultAnswer)


class ErasureStore(Users, Results, Protocol):
    """What an erasure needs of the table: the user's item and erasure, and the newest result
    (for ``erased_at``)."""


def erase(
    caller: Session,
    *,
    table: ErasureStore,
    data_key: DataKey,
    erasures_per_hour: int = 60,
    audit_retention_s: int = 180 * 86400,
    forget_idempotency: Callable[[str], None] = lambda owner: None,
    outbox: Outbox | None = None,
    now: float | None = None,
) -> int:
    """Erase the caller's keys, results and idempotency records, and end every session issued to
    them until now (on every container: the mark is read in the write that counts each request);
    the audit trail keeps that it happened (no personal data is in it)."""
    at = time.time() if now is None else now
    owner = data_key.owner(caller.openid)
    charge_user(table, Limit("erasures", erasures_per_hour), owner, caller, at)
    # Sessions first: a request racing the erasure cannot write anything new for this user.
    table.end_sessions(owner, int(at), ttl=int(at) + USER_STATE_TTL_S)
    forget_idempotency(owner)
    # Consumers erase what they hold of the user up to erased_at: no earlier than the newest
    # result stored (nothing can be stored after the mark), whose verified_at may come from
    # WeChat's clock (1.0's identify_time).
    newest = table.latest_result(owner, int(at))
    erased_at = max(int(at), from_json(newest, ResultAnswer).verified_at if newest else 0)
    if outbox is not None:
        outbox.before_erasure(owner, at)  # the user's events not sent yet: now, or never
    audit = AuditEntry(owner, ERASE_ROUTE, "erased", at_ms=int(at * 1000), ttl=int(at) + audit_retention_s)
    erased = table.erase_user(owner, audit)  # the outbox entries and pending checks too
    if outbox is not None:
        outbox.erased(owner, caller.openid, at, erased_at=erased_at)
    return erased
