"""Orders: the business's servers choose whose identity is verified.

An order holds the identity to check (sealed under the order-sealing key, bound to the order, only
while a key can be issued from it), the user it is for and the business's ``biz_ref``. The
mini-program asks for a key by ``order_id`` (``issuance.KeyIssuance``); a result of one of
its keys moves it (:func:`after_result`, written in the result's transaction).

States (``status``): ``open`` until ``expires_at`` (then ``expired``: no new key, but a key issued
while open can still pass it within its own life), ``cancelled`` by the business (final; later
results of earlier keys are stored and reported, the order does not change), ``passed`` by a
passing result of one of its keys (final).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from msgspec.structs import replace

from ..answers import (
    BIZ_REF_PATTERN,
    OPENID_PATTERN,
    ORDER_ID_PATTERN,
    OrderAnswer,
    OrderCreated,
    OrderStatus,
    PhotoAnswer,
    ResultAnswer,
    from_dict,
    from_json,
    to_dict,
)
from ..identity import normalize_id_card_number, normalize_name
from ..ports.records import AuditEntry, OrderChange, OrderChanged, OrderPhoto, OrderRecord, UserErased
from ..ports.store import Audit, OrderRecords, Results, Users
from .errors import (
    InvalidBizRef,
    InvalidRequest,
    NotFound,
    OrderNotCancellable,
    OrderUserErased,
    PhotoExpired,
    RateLimited,
    SessionEnded,
)
from .stack_keys import DataKey, SealBroken, SealingKey
from .wechat_calls import WeChatCalls

if TYPE_CHECKING:
    from ..ports.idempotency import Deadline
    from .idempotency import IdempotentCalls

CREATE_ROUTE = "POST /v1/face/orders"
CANCEL_ROUTE = "DELETE /v1/face/orders/{order_id}"
PHOTO_ROUTE = "GET /v1/face/photos/{order_id}"
RESULT_ROUTE = "POST /v1/face/results"

_ORDER_ID = re.compile(ORDER_ID_PATTERN)
_OPENID = re.compile(OPENID_PATTERN)
# Attempts at a change conditioned on the order's revision, each after reading it again.
CHANGE_ATTEMPTS = 4


def new_order_id() -> str:
    """``ord_`` and 128 bits from the operating system's cryptographic generator."""
    return "ord_" + secrets.token_hex(16)


def is_order_id(value: str) -> bool:
    return bool(_ORDER_ID.fullmatch(value))


def identity_bound_to(order_id: str) -> str:
    return f"identity:{order_id}"


_BIZ_REF = re.compile(BIZ_REF_PATTERN)


def checked_biz_ref(biz_ref: str | None) -> None:
    """The business's reference is 1-64 of ``[A-Za-z0-9_.:-]`` (the edge checks it too); on a
    typed key as on an order."""
    if biz_ref is not None and not _BIZ_REF.fullmatch(biz_ref):
        raise InvalidBizRef


def photo_bound_to(order_id: str) -> str:
    return f"photo:{order_id}"


def open_identity(order_key: SealingKey, order_id: str, sealed: str) -> tuple[str, str]:
    """The order's name and ID number (checked when the order was created)."""
    identity = json.loads(order_key.open(sealed, bound_to=identity_bound_to(order_id)))
    return str(identity["name"]), str(identity["id_card_number"])


def status_of(order: OrderRecord, now: float) -> OrderStatus:
    if order.status == "open" and now >= order.expires_at:
        return "expired"
    return order.status


def after_result(
    order: OrderRecord,
    ref: str,
    *,
    passed: bool,
    result_ttl: int,
    photo: OrderPhoto | None,
    audit: AuditEntry,
) -> OrderChange:
    """What a stored result of one of the order's keys changes: an open order (expired or not)
    passes with a passing result (its photo ticket kept, its identity dropped); a cancelled or
    passed one only learns of the result; the record lives as long as its results."""
    results_until = max(order.results_until, result_ttl)
    moved = replace(
        order, rev=order.rev + 1, latest_ref=ref, ttl=max(order.ttl, result_ttl), results_until=results_until
    )
    if order.status == "open" and passed:
        return OrderChange(
            replace(moved, status="passed", passed_ref=ref),
            order.rev,
            photo=photo,
            drop_identity=True,
            audit=audit,
        )
    return OrderChange(moved, order.rev)


class OrderStore(OrderRecords, Results, Users, Audit, Protocol):
    """What the orders need of the table: the orders, their results, the user's erasure epoch, the audit trail."""


@dataclass(frozen=True)
class OrderPolicy:
    api_version: Literal[1, 2]
    ttl_s: int = 86400  # OrderTtlSeconds: keys can be issued from an order this long
    retention_s: int = 30 * 86400  # ResultRetentionDays: an order without results, after it ends
    audit_retention_s: int = 180 * 86400
    photos_per_order: int = 5  # the photo route's cap per order (each is a WeChat call)


@dataclass(frozen=True)
class Orders:
    """``POST /v1/face/orders``, ``GET`` and ``DELETE /v1/face/orders/{order_id}``, and ``GET
    /v1/face/photos/{order_id}``: the business's servers, authorised by IAM at the API."""

    policy: OrderPolicy
    table: OrderStore
    data_key: DataKey
    order_key: Callable[[], SealingKey]
    wechat: WeChatCalls  # the photo route's
    idempotent_calls: IdempotentCalls

    def create(
        self,
        openid: str,
        raw_name: str,
        raw_number: str,
        *,
        biz_ref: str | None = None,
        idempotency_key: str | None = None,
        deadline: Deadline | None = None,
        now: float | None = None,
    ) -> OrderCreated:
        """A new order for ``openid`` to verify the identity given; with an ``Idempotency-Key``,
        the first answer again for the same key and body."""
        name = normalize_name(raw_name)  # InvalidIdentity: a 400, before anything is stored
        number = normalize_id_card_number(raw_number)
        checked_biz_ref(biz_ref)
        if not _OPENID.fullmatch(openid):
            raise InvalidRequest
        owner = self.data_key.owner(openid)
        epoch = self.table.erasure_epoch(owner)  # an order created after an erasure is kept

        from .idempotency import at_most_once, checked_key

        key = checked_key(idempotency_key)
        if key is None:
            return self._create(openid, owner, epoch, name, number, biz_ref, now)

        def work() -> dict[str, Any]:
            return to_dict(self._create(openid, owner, epoch, name, number, biz_ref, now))

        body: Mapping[str, Any] = {
            "route": CREATE_ROUTE,
            "name": name,
            "id_card_number": number,
            "biz_ref": biz_ref,
        }

        def still_valid() -> None:
            if self.table.erasure_epoch(owner) > epoch:
                raise OrderUserErased

        try:
            answer = at_most_once(
                f"order:{key}",
                openid=openid,
                epoch=epoch,
                body=body,
                data_key=self.data_key,
                calls=self.idempotent_calls,
                work=work,
                still_valid=still_valid,
                deadline=deadline,
            )
        except SessionEnded:  # the idempotency record was erased with the user meanwhile
            raise OrderUserErased from None
        return from_dict(answer, OrderCreated)

    def _create(
        self,
        openid: str,
        owner: str,
        epoch: int,
        name: str,
        number: str,
        biz_ref: str | None,
        now: float | None,
    ) -> OrderCreated:
        at = time.time() if now is None else now
        order_id = new_order_id()
        key = self.order_key()
        expires_at = int(at) + self.policy.ttl_s
        record = OrderRecord(
            order_id=order_id,
            owner=owner,
            openid_sealed=key.seal(openid, bound_to=f"openid:{order_id}"),
            created_ms=int(at * 1000),
            expires_at=expires_at,
            ttl=expires_at + self.policy.retention_s,
            biz_ref=biz_ref,
        )
        identity = key.seal(
            json.dumps({"name": name, "id_card_number": number}, ensure_ascii=False),
            bound_to=identity_bound_to(order_id),
        )
        try:
            self.table.put_order(
                record, identity, self._audit(owner, CREATE_ROUTE, "created", at, order_id), epoch=epoch
            )
        except UserErased:
            raise OrderUserErased from None  # the user was erased meanwhile: nothing was kept
        return OrderCreated(order_id=order_id, expires_in=self.policy.ttl_s)

    def read(self, order_id: str, now: float | None = None) -> OrderAnswer:
        at = time.time() if now is None else now
        order = self._order(order_id, at)
        ref = order.passed_ref or order.latest_ref
        result: ResultAnswer | None = None
        if ref is not None:
            stored = self.table.get_result(ref)
            if stored is not None and stored.live(at) and stored.owner == order.owner:
                result = from_json(stored.body, ResultAnswer)
        try:
            openid = self.order_key().open(order.openid_sealed, bound_to=f"openid:{order_id}")
        except SealBroken:
            raise NotFound("order_id") from None  # altered or moved in the table: not an order of ours
        return OrderAnswer(
            order_id=order.order_id,
            openid=openid,
            biz_ref=order.biz_ref,
            status=status_of(order, at),
            attempts=order.attempts,
            created_at=order.created_at,
            expires_at=order.expires_at,
            result=result,
        )

    def cancel(self, order_id: str, now: float | None = None) -> None:
        """An open order is cancelled (its identity dropped at once); a cancelled one stays so."""
        at = time.time() if now is None else now
        for _ in range(CHANGE_ATTEMPTS):
            order = self._order(order_id, at)
            status = status_of(order, at)
            if status == "cancelled":
                return
            if status in ("passed", "expired"):
                raise OrderNotCancellable(status)
            until = max(int(at) + self.policy.retention_s, order.results_until)
            change = OrderChange(
                replace(order, status="cancelled", rev=order.rev + 1, ttl=until),
                order.rev,
                drop_identity=True,
                audit=self._audit(order.owner, CANCEL_ROUTE, "cancelled", at, order_id),
            )
            try:
                self.table.change_order(change)
                return
            except OrderChanged:
                continue  # a result or another cancellation came first: read it again
        raise OrderChanged

    def photo(self, order_id: str, now: float | None = None) -> PhotoAnswer:
        """2.0: the verification photo of a passed order, from WeChat's ``getimage``, while the
        passing key is alive; never stored."""
        at = time.time() if now is None else now
        if self.policy.api_version != 2:
            raise NotFound("photo")  # 1.0 has no getimage
        order = self._order(order_id, at)
        if order.status != "passed":
            raise NotFound("photo")
        photo = self.table.get_order_photo(order_id)
        if photo is None or photo.ttl <= at:
            raise PhotoExpired
        if not self.table.count_photo(order_id, below=self.policy.photos_per_order):
            raise RateLimited(scope="photos")
        try:
            ticket = json.loads(self.order_key().open(photo.ticket, bound_to=photo_bound_to(order_id)))
        except SealBroken:
            raise PhotoExpired from None  # unusable (altered, or sealed under a replaced key)
        image = self.wechat.get_image(
            str(ticket["verify_id"]),
            str(ticket["out_seq_no"]),
            str(ticket["cert_hash"]),
            str(ticket["openid"]),
            priority="photo",
        )
        self._record(order.owner, PHOTO_ROUTE, "photo_fetched", at, order_id)
        return PhotoAnswer(content_type=content_type(image), image_base64=base64.b64encode(image).decode())

    def _order(self, order_id: str, at: float) -> OrderRecord:
        if not is_order_id(order_id):
            raise NotFound("order_id")
        order, _ = self.table.get_order(order_id)
        if order is None or not order.live(at):
            raise NotFound("order_id")
        return order

    def _audit(self, owner: str, route: str, outcome: str, at: float, order_id: str) -> AuditEntry:
        return AuditEntry(
            owner,
            route,
            outcome,
            at_ms=int(at * 1000),
            ttl=int(at) + self.policy.audit_retention_s,
            order_id=order_id,
        )

    def _record(self, owner: str, route: str, outcome: str, at: float, order_id: str) -> None:
        self.table.record_audit(self._audit(owner, route, outcome, at, order_id))


def content_type(image: bytes) -> str:
    """The photo's media type from its first bytes (WeChat sends JPEG)."""
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
