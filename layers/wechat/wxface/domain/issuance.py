"""Key issuance: validate, count against the per-user limit, ask WeChat, record the binding."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..answers import BIZ_REF_PATTERN, KeyAnswerV1, KeyAnswerV2
from ..identity import (
    CERT_TYPE_IDENTITY_CARD,
    cert_hash,
    id_card_number_md5,
    name_utf8_md5,
    normalize_id_card_number,
    normalize_name,
)
from ..ports.records import AuditEntry, KeyRecord, OrderClosed, OrderRecord, PendingCheck, UserErased
from ..ports.store import Keys, OrderRecords, Users
from ..wechat.errors import WeChatError
from .errors import (
    Forbidden,
    IdentitySourceRefused,
    InvalidBizRef,
    InvalidRequest,
    NotFound,
    OrderCancelled,
    OrderExpired,
    OrderPassed,
    QuotaGuardRefused,
    SessionEnded,
)
from .limits import Limit, charge_user, check_not_erased
from .sessions import Session
from .stack_keys import DataKey, SealBroken, SealingKey, sha256_hex
from .wechat_calls import WeChatCalls

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from .idempotency import IdempotentCalls

ROUTE = "POST /v1/face/keys"
_BIZ_REF = re.compile(BIZ_REF_PATTERN)


def checked_biz_ref(biz_ref: str | None) -> None:
    """The business's reference is 1-64 of ``[A-Za-z0-9_.:-]`` (the edge checks it too)."""
    if biz_ref is not None and not _BIZ_REF.fullmatch(biz_ref):
        raise InvalidBizRef


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


# The sweep's last look at a 2.0 key: this long before WeChat stops accepting it.
LAST_LOOK_S = 300


def issue_key(
    caller: Session,
    raw_name: str,
    raw_number: str,
    *,
    biz_ref: str | None = None,
    policy: IssuancePolicy,
    table: IssuanceStore,
    wechat: WeChatCalls,
    data_key: DataKey,
    sealing_key: Callable[[], SealingKey],
    now: float | None = None,
    order: OrderRecord | None = None,
    order_key: Callable[[], SealingKey] | None = None,
) -> KeyAnswerV1 | KeyAnswerV2:
    """The key for ``caller`` to check the identity given (typed by the user, or ``order``'s,
    whose ``biz_ref`` is then the key's)."""
    name = normalize_name(raw_name)  # InvalidIdentity: a 400 at the edge, before WeChat
    number = normalize_id_card_number(raw_number)
    checked_biz_ref(biz_ref)

    at = time.time() if now is None else now
    openid = caller.openid
    owner = data_key.owner(openid)
    counted = charge_user(table, Limit("keys", policy.key_limit_per_hour), owner, caller, at)
    photo_ticket: str | None = None

    try:
        if policy.api_version == 1:
            v1 = wechat.get_user_id_key(name, number)
            ref, expires_in = sha256_hex(v1.user_id_key), v1.expires_in
            answer: KeyAnswerV1 | KeyAnswerV2 = KeyAnswerV1(user_id_key=v1.user_id_key, expires_in=expires_in)
            binding: dict[str, str] = {
                "id_mac": data_key.mac("id_md5", id_card_number_md5(number)),
                "name_mac": data_key.mac("name_md5", name_utf8_md5(name)),
            }
        else:
            v2 = wechat.get_verify_id(name, number, openid)
            ref, expires_in = sha256_hex(v2.verify_id), v2.expires_in
            answer = KeyAnswerV2(verify_id=v2.verify_id, expires_in=expires_in)
            binding = {
                "out_seq_no": v2.out_seq_no,
                # Sent back to WeChat on lookup, so kept, but sealed: a SHA-256 of a name and an
                # ID number is reversed by brute force in seconds (docs/data.md).
                "cert_hash": sealing_key().seal(
                    cert_hash(CERT_TYPE_IDENTITY_CARD, name, number), bound_to=ref
                ),
            }
            if order is not None and order_key is not None:
                # What the order's photo route needs if this key passes it (getimage), sealed
                # for the orders function alone.
                ticket = {
                    "verify_id": v2.verify_id,
                    "out_seq_no": v2.out_seq_no,
                    "cert_hash": cert_hash(CERT_TYPE_IDENTITY_CARD, name, number),
                    "openid": openid,
                }
                from .orders import photo_bound_to

                photo_ticket = order_key().seal(json.dumps(ticket), bound_to=photo_bound_to(order.order_id))
    except QuotaGuardRefused:
        counted.give_back()  # refused before anything was sent: WeChat saw nothing
        raise
    except WeChatError as err:
        # Only where nothing reached WeChat (every attempt failed to connect): a request WeChat
        # saw used its quota, so it counts against the user, answered with an errcode or not.
        if not err.reached:
            counted.give_back()
        raise

    expires_at = int(at) + expires_in
    record = KeyRecord(
        owner=owner,
        api_version=policy.api_version,
        issued_at=int(at),
        expires_at=expires_at,
        ttl=expires_at + policy.lookup_window_s,
        biz_ref=order.biz_ref if order is not None else biz_ref,
        order_id=order.order_id if order is not None else None,
        photo_ticket=photo_ticket,
        **binding,
    )
    audit = AuditEntry(
        owner,
        ROUTE,
        "issued",
        at_ms=int(at * 1000),
        ttl=int(at) + policy.audit_retention_s,
        order_id=order.order_id if order is not None else None,
    )
    pending: PendingCheck | None = None
    if isinstance(answer, KeyAnswerV2):
        # If the mini-program never looks the result up (the app was closed), the sweep does:
        # it needs the openid and the verify_id, which the table keeps nowhere else; sealed.
        secret = json.dumps({"openid": openid, "verify_id": answer.verify_id})
        pending = PendingCheck(
            ref,
            sealing_key().seal(secret, bound_to=f"pending:{ref}"),
            check_at=max(int(at), min(int(at) + policy.sweep_after_s, expires_at - LAST_LOOK_S)),
            expires_at=expires_at,
            ttl=record.ttl,
            epoch=caller.epoch,
        )
    try:
        table.put_key(
            ref,
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
    return answer


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


def issue_key_for_order(
    caller: Session,
    order_id: str,
    *,
    policy: IssuancePolicy,
    table: IssuanceStore,
    wechat: WeChatCalls,
    data_key: DataKey,
    sealing_key: Callable[[], SealingKey],
    order_key: Callable[[], SealingKey],
    now: float | None = None,
) -> KeyAnswerV1 | KeyAnswerV2:
    """The key for the identity of the business's order ``order_id``: refused before anything
    is counted or sent if the order is not the caller's or cannot issue keys now."""
    from .orders import is_order_id, open_identity

    if not is_order_id(order_id):
        raise InvalidRequest
    at = time.time() if now is None else now
    order, sealed = table.get_order(order_id, identity=True)
    order = checked_order(order, data_key.owner(caller.openid), at)
    if sealed is None:
        raise OrderExpired  # dropped: the order can issue no key any more (its TTL deletes it late)
    try:
        name, number = open_identity(order_key(), order_id, sealed)
    except SealBroken:
        raise OrderExpired from None  # altered, moved, or sealed under a replaced key: unusable

    return issue_key(
        caller,
        name,
        number,
        policy=policy,
        table=table,
        wechat=wechat,
        data_key=data_key,
        sealing_key=sealing_key,
        now=at,
        order=order,
        order_key=order_key,
    )


@dataclass(frozen=True)
class KeyIssuance:
    """``POST /v1/face/keys`` as one call: the key, at most once per ``Idempotency-Key``.

    ``idempotent_calls`` sets Powertools' Idempotency up on first need (only requests that carry
    a key use it); ``issued`` hears of every key actually issued (not of a replayed answer).
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
        context: LambdaContext | None = None,
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

        def work() -> dict[str, Any]:
            if order_id is not None and self.order_key is not None:
                answer = issue_key_for_order(
                    caller,
                    order_id,
                    policy=self.policy,
                    table=self.table,
                    wechat=self.wechat,
                    data_key=self.data_key,
                    sealing_key=self.sealing_key,
                    order_key=self.order_key,
                )
            else:
                answer = issue_key(
                    caller,
                    name or "",
                    number or "",
                    policy=self.policy,
                    table=self.table,
                    wechat=self.wechat,
                    data_key=self.data_key,
                    sealing_key=self.sealing_key,
                    biz_ref=biz_ref,
                )
            self.issued()
            return answer.model_dump(mode="json")

        from .idempotency import at_most_once, checked_key

        key = checked_key(idempotency_key)
        if key is None:
            return work()

        checked_biz_ref(biz_ref)
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
            context=context,
        )
