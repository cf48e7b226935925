"""Key issuance: validate, count against the per-user limit, ask WeChat, record the binding."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..answers import KeyAnswerV1, KeyAnswerV2, to_dict
from ..identity import normalize_id_card_number, normalize_name
from ..ports.records import AuditEntry, KeyRecord, OrderClosed, OrderRecord, PendingCheck, UserErased
from ..ports.store import Keys, OrderRecords, Users
from ..wechat.errors import WeChatError
from .errors import (
    Forbidden,
    IdentitySourceRefused,
    InvalidRequest,
    NotFound,
    OrderCancelled,
    OrderExpired,
    OrderPassed,
    QuotaGuardRefused,
    SessionEnded,
)
from .face_api import face_api
from .limits import LAST_LOOK_S, Limit, charge_user, check_not_erased
from .orders import checked_biz_ref, is_order_id, open_identity
from .sessions import Session
from .stack_keys import DataKey, SealBroken, SealingKey
from .wechat_calls import WeChatCalls

if TYPE_CHECKING:
    from ..ports.idempotency import Deadline
    from .idempotency import IdempotentCalls

ROUTE = "POST /v1/face/keys"


class IssuanceStore(Keys, OrderRecords, Users, Protocol):
    """What issuing a key needs of the table: the key (and its pending check), the order it comes from, the user's limits and erasure epoch."""


@dataclass(frozen=True)
class IssuancePolicy:
    api_version: Literal[1, 2]
    key_limit_per_hour: int
    lookup_window_s: int
    audit_retention_s: int = 180 * 86400
    # 2.0: the sweep first looks up a key nobody looked up this long after it was issued (and
    # once more in its last minutes if the face check was not finished then).
    sweep_after_s: int = 600
    # Who names the identity checked (IdentitySource): the user typing it, the business's order,
    # or either.
    identity_source: Literal["user", "business", "either"] = "either"


def checked_order(order: OrderRecord | None, owner: str, at: float) -> OrderRecord:
    """The order a key is asked for, if one can be issued from it now: 404 unknown, 403 another
    user's, 409 cancelled or passed, 410 expired."""
    if order is None or not order.live(at):
        raise NotFound("order_id")
    if order.owner != owner:
        raise Forbidden
    if order.status == "passed":
        raise OrderPassed
    if order.status == "cancelled":
        raise OrderCancelled
    if at >= order.expires_at:
        raise OrderExpired
    return order


@dataclass(frozen=True)
class KeyIssuance:
    """``POST /v1/face/keys`` as one call: the key, at most once per ``Idempotency-Key``.

    ``idempotent_calls`` sets Powertools' Idempotency up on first need (only requests that carry
    a key use it); ``issued`` hears of every key actually issued (not of a replayed answer). What
    differs between face API 1.0 and 2.0 is the :mod:`face_api` object's.
    """

    policy: IssuancePolicy
    table: IssuanceStore
    wechat: WeChatCalls
    data_key: DataKey
    idempotent_calls: IdempotentCalls
    sealing_key: Callable[[], SealingKey]
    issued: Callable[[], None] = lambda: None
    order_key: Callable[[], SealingKey] | None = None  # opens the orders' identities

    def __call__(
        self,
        caller: Session,
        name: str | None = None,
        number: str | None = None,
        *,
        order_id: str | None = None,
        biz_ref: str | None = None,
        idempotency_key: str | None = None,
        deadline: Deadline | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """The key for the identity the caller typed (kept with the business's ``biz_ref``), or
        for the identity of the business's order ``order_id`` (and nothing else); with an
        ``Idempotency-Key`` (checked here: 1-128 visible ASCII), the first answer again for the
        same key and body (``biz_ref`` included)."""
        source = self.policy.identity_source
        if order_id is not None:
            if name is not None or number is not None or biz_ref is not None:
                raise InvalidRequest  # an order's identity and biz_ref are the business's alone
            if source == "user" or self.order_key is None:
                raise IdentitySourceRefused("user")
        elif name is None or number is None:
            raise InvalidRequest
        elif source == "business":
            raise IdentitySourceRefused("business")
        checked_biz_ref(biz_ref)  # once, before anything is counted, remembered or sent

        def work() -> dict[str, Any]:
            at = time.time() if now is None else now
            if order_id is not None:
                answer = self._for_order(caller, order_id, at)
            else:
                answer = self._issue(caller, name or "", number or "", biz_ref=biz_ref, order=None, at=at)
            self.issued()
            return to_dict(answer)

        from .idempotency import at_most_once, checked_key

        key = checked_key(idempotency_key)
        if key is None:
            return work()
        body: Mapping[str, Any] = (
            {"order_id": order_id}
            if order_id is not None
            else {"name": name, "id_card_number": number, "biz_ref": biz_ref}
        )
        owner = self.data_key.owner(caller.openid)
        return at_most_once(
            key,
            openid=caller.openid,
            epoch=caller.epoch,
            body=body,
            data_key=self.data_key,
            calls=self.idempotent_calls,
            work=work,
            still_valid=lambda: check_not_erased(self.table, owner, caller),
            deadline=deadline,
        )

    def _for_order(self, caller: Session, order_id: str, at: float) -> KeyAnswerV1 | KeyAnswerV2:
        """The key for the identity of the business's order ``order_id``: refused before
        anything is counted or sent if the order is not the caller's or cannot issue keys now."""
        if not is_order_id(order_id) or self.order_key is None:
            raise InvalidRequest
        order, sealed = self.table.get_order(order_id, identity=True)
        order = checked_order(order, self.data_key.owner(caller.openid), at)
        if sealed is None:
            raise OrderExpired  # dropped: the order can issue no key any more (its TTL deletes it late)
        try:
            name, number = open_identity(self.order_key(), order_id, sealed)
        except SealBroken:
            raise OrderExpired from None  # altered, moved, or sealed under a replaced key: unusable
        return self._issue(caller, name, number, biz_ref=None, order=order, at=at)

    def _issue(
        self,
        caller: Session,
        raw_name: str,
        raw_number: str,
        *,
        biz_ref: str | None,
        order: OrderRecord | None,
        at: float,
    ) -> KeyAnswerV1 | KeyAnswerV2:
        """The key for ``caller`` to check the identity given (typed by the user, or ``order``'s,
        whose ``biz_ref`` is then the key's)."""
        policy, table = self.policy, self.table
        name = normalize_name(raw_name)  # InvalidIdentity: a 400 at the edge, before WeChat
        number = normalize_id_card_number(raw_number)
        openid = caller.openid
        owner = self.data_key.owner(openid)
        counted = charge_user(table, Limit("keys", policy.key_limit_per_hour), owner, caller, at)
        face = face_api(policy.api_version, self.data_key, self.sealing_key, self.order_key)
        try:
            key = face.new_key(self.wechat, name, number, openid, order_id=order.order_id if order else None)
        except QuotaGuardRefused:
            counted.give_back()  # refused before anything was sent: WeChat saw nothing
            raise
        except WeChatError as err:
            # Only where nothing reached WeChat (every attempt failed to connect): a request WeChat
            # saw used its quota, so it counts against the user, answered with an errcode or not.
            if not err.reached:
                counted.give_back()
            raise

        expires_at = int(at) + key.expires_in
        record = KeyRecord(
            owner=owner,
            api_version=policy.api_version,
            issued_at=int(at),
            expires_at=expires_at,
            ttl=expires_at + policy.lookup_window_s,
            biz_ref=order.biz_ref if order is not None else biz_ref,
            order_id=order.order_id if order is not None else None,
            photo_ticket=key.photo_ticket,
            **key.binding,
        )
        audit = AuditEntry(
            owner,
            ROUTE,
            "issued",
            at_ms=int(at * 1000),
            ttl=int(at) + policy.audit_retention_s,
            order_id=record.order_id,
        )
        pending = (
            PendingCheck(
                key.ref,
                key.pending,
                check_at=max(int(at), min(int(at) + policy.sweep_after_s, expires_at - LAST_LOOK_S)),
                expires_at=expires_at,
                ttl=record.ttl,
                epoch=caller.epoch,
            )
            if key.pending is not None
            else None
        )
        try:
            table.put_key(
                key.ref,
                record,
                issued_ms=int(at * 1000),
                audit=audit,
                pending=pending,
                epoch=caller.epoch,
                order_id=record.order_id,
                now=int(at),
            )
        except UserErased:
            # Erased while WeChat was asked: nothing is kept, and the key is never answered.
            raise SessionEnded from None
        except OrderClosed:
            # The order was cancelled or passed (or expired) while WeChat was asked: no key from it.
            assert order is not None  # noqa: S101 - only a key from an order is conditioned so
            checked_order(table.get_order(order.order_id)[0], owner, at)
            raise OrderExpired from None
        return key.answer
