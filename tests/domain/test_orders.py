"""Orders: the business's servers name whom to verify; the mini-program asks for a key by the
order and never chooses, changes or sees the identity. The contract's state table, row by row,
on both stores and both face API versions."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.domain.conftest import Domain
from tests.support.handlers import Context
from tests.support.memory import MemoryStore
from tests.support.people import ALICE, BOB, PEOPLE
from wxface.domain.errors import (
    Forbidden,
    IdempotencyConflict,
    IdentitySourceRefused,
    InvalidRequest,
    NotFound,
    OrderCancelled,
    OrderExpired,
    OrderNotCancellable,
    OrderPassed,
    OrderUserErased,
    PhotoExpired,
    RateLimited,
)
from wxface.domain.orders import is_order_id
from wxface.domain.sessions import Session
from wxface.domain.stack_keys import DataKey
from wxface.identity import InvalidIdentity
from wxface.ports.records import OrderChanged

KEY_ENDPOINT = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}
FAIL = {1: 90002, 2: 10001}  # a face check that did not pass (1.0 identify_ret / 2.0 verify_ret)


def test_an_order_is_open_with_no_result_and_names_its_user_and_reference(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE, biz_ref="loan-42")
    assert is_order_id(order_id)
    order = domain.orders().read(order_id)
    assert (order.openid, order.biz_ref, order.status, order.attempts, order.result) == (
        "alice",
        "loan-42",
        "open",
        0,
        None,
    )
    assert order.expires_at - order.created_at == domain.order_ttl_s
    assert domain.sim.calls() == {}  # creating an order asks WeChat nothing


def test_a_key_from_an_order_checks_the_orders_identity_and_its_pass_passes_the_order(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE, biz_ref="loan-42")
    ref = domain.face_check("alice", domain.key_for_order("alice", order_id))
    result = domain.look_up("alice", ref)
    assert (result.passed, result.identity_matched) == (True, True)
    assert (result.order_id, result.identity_source, result.biz_ref) == (order_id, "business", "loan-42")
    order = domain.orders().read(order_id)
    assert (order.status, order.attempts, order.result) == ("passed", 1, result)
    # Nothing can be issued from it now: its identity is gone.
    assert not [k for k in domain.backend.kept() if k.endswith("/IDENTITY")]
    assert domain.bus.details()[-1]["order_id"] == order_id
    assert domain.bus.details()[-1]["identity_source"] == "business"


def test_a_typed_identity_is_the_users(domain: Domain) -> None:
    ref = domain.face_check("alice", domain.key("alice", ALICE, biz_ref="x"))
    result = domain.look_up("alice", ref)
    assert (result.order_id, result.identity_source) == (None, "user")
    assert domain.bus.details()[-1]["identity_source"] == "user"


def test_a_failed_check_may_be_retried_with_a_new_key_from_the_same_order(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    first = domain.face_check("alice", domain.key_for_order("alice", order_id), FAIL[domain.version])
    failed = domain.look_up("alice", first)
    assert not failed.passed
    order = domain.orders().read(order_id)
    assert (order.status, order.attempts, order.result) == ("open", 1, failed)  # the latest result
    second = domain.face_check("alice", domain.key_for_order("alice", order_id))
    passed = domain.look_up("alice", second)
    order = domain.orders().read(order_id)
    assert (order.status, order.attempts, order.result) == ("passed", 2, passed)


def test_keys_from_an_order_count_against_the_users_limit(domain: Domain) -> None:
    from wxface.domain.errors import RateLimited as UserLimited

    domain.keys_per_hour = 2
    order_id = domain.order("alice", ALICE)
    domain.key_for_order("alice", order_id)
    domain.key("alice", BOB)
    with pytest.raises(UserLimited):
        domain.key_for_order("alice", order_id)


def test_keys_are_refused_for_orders_they_cannot_come_from_and_none_reaches_wechat(domain: Domain) -> None:
    passed = domain.order("alice", ALICE)
    domain.look_up("alice", domain.face_check("alice", domain.key_for_order("alice", passed)))
    cancelled = domain.order("alice", ALICE)
    domain.orders().cancel(cancelled)
    bobs = domain.order("bob", BOB)
    domain.sim.control("/sim/reset")
    with pytest.raises(OrderPassed):
        domain.key_for_order("alice", passed)
    with pytest.raises(OrderCancelled):
        domain.key_for_order("alice", cancelled)
    with pytest.raises(Forbidden):
        domain.key_for_order("alice", bobs)
    with pytest.raises(NotFound):
        domain.key_for_order("alice", "ord_" + "0" * 32)
    for malformed in ("ord_" + "A" * 32, "ord_123", "order-1", ""):
        with pytest.raises(InvalidRequest):
            domain.key_for_order("alice", malformed)
    assert domain.sim.calls().get(KEY_ENDPOINT[domain.version], 0) == 0


def test_an_expired_order_issues_no_key_but_a_key_issued_before_can_still_pass_it(domain: Domain) -> None:
    domain.order_ttl_s = 60
    order_id = domain.order("alice", ALICE)
    ref = domain.face_check("alice", domain.key_for_order("alice", order_id))
    later = time.time() + 120  # the order expired; the key (WeChat's hour) has not
    assert domain.orders().read(order_id, now=later).status == "expired"
    with pytest.raises(OrderExpired):
        domain.issuance()(domain.session("alice"), order_id=order_id, now=later)
    with pytest.raises(OrderNotCancellable):
        domain.orders().cancel(order_id, now=later)
    assert domain.look_up("alice", ref, now=later).passed
    assert domain.orders().read(order_id, now=later).status == "passed"


def test_cancelling_an_open_order_is_final_and_a_late_result_is_stored_without_changing_it(
    domain: Domain,
) -> None:
    order_id = domain.order("alice", ALICE)
    ref = domain.face_check("alice", domain.key_for_order("alice", order_id))  # a key outstanding
    domain.orders().cancel(order_id)
    domain.orders().cancel(order_id)  # again: still cancelled
    assert not [k for k in domain.backend.kept() if k.endswith("/IDENTITY")]
    late = domain.look_up("alice", ref)
    assert late.passed and late.order_id == order_id  # stored and reported as it is
    assert domain.bus.details()[-1]["order_id"] == order_id
    order = domain.orders().read(order_id)
    assert (order.status, order.result) == ("cancelled", late)


def test_a_passed_order_cannot_be_cancelled_and_stays_passed_by_its_first_pass(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    first = domain.face_check("alice", domain.key_for_order("alice", order_id))
    second = domain.face_check("alice", domain.key_for_order("alice", order_id))
    passing = domain.look_up("alice", first)
    also = domain.look_up("alice", second)  # the other key's result is stored too
    assert also.passed and also.order_id == order_id
    with pytest.raises(OrderNotCancellable):
        domain.orders().cancel(order_id)
    order = domain.orders().read(order_id)
    assert (order.status, order.result) == ("passed", passing)


def test_unknown_and_malformed_orders_are_not_found(domain: Domain) -> None:
    for order_id in ("ord_" + "0" * 32, "nonsense", "ORD_" + "0" * 32):
        with pytest.raises(NotFound):
            domain.orders().read(order_id)
        with pytest.raises(NotFound):
            domain.orders().cancel(order_id)


def test_an_order_is_checked_before_anything_is_stored(domain: Domain) -> None:
    name, number = ALICE
    with pytest.raises(InvalidIdentity):
        domain.order("alice", (name, number[:-1] + ("0" if number[-1] != "0" else "1")))
    with pytest.raises(InvalidIdentity):
        domain.order("alice", ("x", number))
    with pytest.raises(InvalidRequest):
        domain.order("not an openid", ALICE)
    assert domain.backend.kept() == []


def test_a_retried_creation_with_the_same_idempotency_key_is_the_same_order(domain: Domain) -> None:
    first = domain.order("alice", ALICE, biz_ref="a", idempotency_key="create-1")
    assert domain.order("alice", ALICE, biz_ref="a", idempotency_key="create-1") == first
    with pytest.raises(IdempotencyConflict):
        domain.order("alice", BOB, biz_ref="a", idempotency_key="create-1")
    assert domain.order("alice", ALICE, biz_ref="a", idempotency_key="create-2") != first


def test_the_identity_source_the_deployment_does_not_take_is_refused_before_wechat(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    domain.identity_source = "business"
    with pytest.raises(IdentitySourceRefused):
        domain.key("alice", ALICE)
    domain.key_for_order("alice", order_id)
    domain.identity_source = "user"
    with pytest.raises(IdentitySourceRefused):
        domain.key_for_order("alice", order_id)
    assert domain.sim.calls().get(KEY_ENDPOINT[domain.version], 0) == 1


def test_a_key_request_with_an_order_and_anything_else_is_refused(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    extras: list[dict[str, Any]] = [{"biz_ref": "mine"}, {"name": ALICE[0]}, {"number": ALICE[1]}]
    for extra in extras:
        with pytest.raises(InvalidRequest):
            domain.issuance()(domain.session("alice"), order_id=order_id, deadline=Context(), **extra)
    assert domain.sim.calls() == {}


def test_nothing_of_the_identity_is_stored_in_clear(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE, biz_ref="loan-42")
    domain.look_up("alice", domain.face_check("alice", domain.key_for_order("alice", order_id)))
    dump = _dump(domain)
    for name, number in PEOPLE:
        assert name not in dump and number not in dump and number.lower() not in dump
    assert '"alice"' not in dump and "alice" not in dump  # the openid is sealed too


def test_erasure_erases_the_users_orders_identity_first(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    domain.look_up("alice", domain.face_check("alice", domain.key_for_order("alice", order_id)))
    open_one = domain.order("alice", ALICE)
    kept_for_bob = domain.order("bob", BOB)
    domain.lookup().erase(domain.session("alice"))
    for gone in (order_id, open_one):
        with pytest.raises(NotFound):
            domain.orders().read(gone)
    assert domain.orders().read(kept_for_bob).status == "open"
    kept = [k for k in domain.backend.kept() if not _erasure_event(k)]
    assert all(kept_for_bob in k or "USER#" in k for k in kept), kept
    domain.sign_in_again("alice")
    with pytest.raises(NotFound):
        domain.key_for_order("alice", open_one)


def test_an_order_created_while_its_user_is_erased_keeps_nothing(domain: Domain) -> None:
    store, owner = domain.backend.store, domain.data_key.owner("alice")
    orders = domain.orders()
    epoch = store.erasure_epoch(owner)  # read as the creation began
    store.end_sessions(owner, int(time.time()), ttl=int(time.time()) + 3600)  # the erasure
    with pytest.raises(OrderUserErased):
        orders._create("alice", owner, epoch, *ALICE, None, None)
    assert domain.backend.kept() == []
    assert is_order_id(domain.order("alice", ALICE))  # an order created after the erasure is kept


def test_a_key_from_an_order_while_its_user_is_erased_keeps_nothing(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    old = Session("alice", int(time.time()) - 60, 0)
    domain.sessions["alice"] = old
    domain.lookup().erase(domain.sign_in_again("alice"))  # erased; the old session races on
    domain.sessions["alice"] = old
    with pytest.raises(Exception):  # noqa: B017,PT011 - SessionEnded or NotFound: nothing is kept either way
        domain.key_for_order("alice", order_id)
    assert [k for k in domain.backend.kept() if not _erasure_event(k)] == []


def test_a_result_stored_while_the_order_changes_reads_it_again(domain: Domain) -> None:
    """A cancellation racing the result's write: the result is written against the order as it
    is then (cancelled), never over it."""
    order_id = domain.order("alice", ALICE)
    ref = domain.face_check("alice", domain.key_for_order("alice", order_id))
    store = domain.backend.store
    original = store.put_result
    cancelled: list[bool] = []

    def racing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not cancelled:
            cancelled.append(True)
            domain.orders().cancel(order_id)
        return original(*args, **kwargs)

    store.put_result = racing  # type: ignore[method-assign]
    try:
        assert domain.look_up("alice", ref).passed
    finally:
        store.put_result = original  # type: ignore[method-assign]
    assert domain.orders().read(order_id).status == "cancelled"


def test_an_order_change_against_a_stale_revision_is_refused(domain: Domain) -> None:
    from msgspec.structs import replace

    from wxface.ports.records import OrderChange

    order_id = domain.order("alice", ALICE)
    order, _ = domain.backend.store.get_order(order_id)
    assert order is not None
    domain.orders().cancel(order_id)
    with pytest.raises(OrderChanged):
        domain.backend.store.change_order(OrderChange(replace(order, rev=order.rev + 1), order.rev))


def test_an_identity_or_ticket_that_does_not_open_is_refused_never_a_500(v2: Domain) -> None:
    """Altered or moved in the table, or sealed under an order-sealing key since replaced."""
    import secrets as _secrets

    from wxface.domain.stack_keys import SealingKey

    waiting = v2.order("alice", ALICE)
    passed = v2.order("bob", BOB)
    v2.look_up("bob", v2.face_check("bob", v2.key_for_order("bob", passed)))
    v2.order_key = SealingKey(_secrets.token_bytes(32))  # replaced
    with pytest.raises(OrderExpired):
        v2.key_for_order("alice", waiting)
    with pytest.raises(PhotoExpired):
        v2.orders().photo(passed)
    with pytest.raises(NotFound):
        v2.orders().read(passed)
    assert v2.sim.calls().get(KEY_ENDPOINT[2], 0) == 1  # only bob's first key reached WeChat


def _audit(domain: Domain) -> list[dict[str, str | None]]:
    store = domain.backend.store
    if isinstance(store, MemoryStore):
        return [{"outcome": a.outcome, "order_id": a.order_id, "all": repr(a)} for a in store.audit]
    items = store.client.scan(TableName=store.name)["Items"]  # type: ignore[attr-defined]
    return [
        {"outcome": i["outcome"]["S"], "order_id": i.get("order_id", {}).get("S"), "all": json.dumps(i)}
        for i in items
        if i["pk"]["S"].startswith("AUDIT#")
    ]


def test_every_order_state_change_is_audited_without_personal_data(domain: Domain) -> None:
    order_id = domain.order("alice", ALICE)
    domain.look_up("alice", domain.face_check("alice", domain.key_for_order("alice", order_id)))
    cancelled = domain.order("alice", ALICE)
    domain.orders().cancel(cancelled)
    entries = _audit(domain)
    outcomes = [(e["outcome"], e["order_id"]) for e in entries if e["order_id"]]
    assert ("created", order_id) in outcomes and ("issued", order_id) in outcomes
    assert ("order_passed", order_id) in outcomes and ("cancelled", cancelled) in outcomes
    text = " ".join(str(e["all"]) for e in entries)
    assert "alice" not in text and ALICE[0] not in text and ALICE[1] not in text


# --- the photo (2.0) ------------------------------------------------------------------------


def test_the_photo_of_a_passed_order_comes_from_wechat_while_the_key_lives(v2: Domain) -> None:
    order_id = v2.order("alice", ALICE)
    v2.look_up("alice", v2.face_check("alice", v2.key_for_order("alice", order_id)))
    photo = v2.orders().photo(order_id)
    assert photo.content_type == "image/jpeg" and photo.image_base64
    assert v2.sim.calls()["/cityservice/face/identify/getimage"] == 1
    assert photo.image_base64 not in _dump(v2)  # returned, never stored
    assert ("photo_fetched", order_id) in [(e["outcome"], e["order_id"]) for e in _audit(v2)]
    with pytest.raises(PhotoExpired):
        v2.orders().photo(order_id, now=time.time() + 6 * 3600)  # past the passing key's life


def test_photos_are_capped_per_order(v2: Domain) -> None:
    order_id = v2.order("alice", ALICE)
    v2.look_up("alice", v2.face_check("alice", v2.key_for_order("alice", order_id)))
    for _ in range(v2.orders().policy.photos_per_order):
        v2.orders().photo(order_id)
    with pytest.raises(RateLimited):
        v2.orders().photo(order_id)


def test_no_photo_for_an_order_that_did_not_pass(v2: Domain) -> None:
    order_id = v2.order("alice", ALICE)
    v2.look_up("alice", v2.face_check("alice", v2.key_for_order("alice", order_id), FAIL[2]))
    with pytest.raises(NotFound):
        v2.orders().photo(order_id)
    typed = v2.face_check("alice", v2.key("alice", ALICE))
    assert v2.look_up("alice", typed).order_id is None
    assert "/cityservice/face/identify/getimage" not in v2.sim.calls()


def test_1_0_has_no_photo(v1: Domain) -> None:
    order_id = v1.order("alice", ALICE)
    v1.look_up("alice", v1.face_check("alice", v1.key_for_order("alice", order_id)))
    with pytest.raises(NotFound):
        v1.orders().photo(order_id)


def test_the_sweep_passes_an_order_nobody_looked_up(v2: Domain) -> None:
    order_id = v2.order("alice", ALICE)
    v2.face_check("alice", v2.key_for_order("alice", order_id))  # the app was closed
    report = v2.lookup().sweep(now=time.time() + v2.sweep_after_s + 1)
    assert report.as_dict() == {"stored": 1}
    assert v2.orders().read(order_id).status == "passed"
    assert v2.orders().photo(order_id).image_base64


def _erasure_event(item: str) -> bool:
    """The user's FaceDataErased, waiting in the outbox (what an erasure leaves on purpose)."""
    return item.startswith("OUTBOX#") and ("/E#" in item or item.startswith("OUTBOX#E#"))


def _dump(domain: Domain) -> str:
    store = domain.backend.store
    if isinstance(store, MemoryStore):
        return repr(store) + json.dumps(getattr(domain.backend.idempotency, "records", {}), default=repr)
    return json.dumps(store.client.scan(TableName=store.name)["Items"])  # type: ignore[attr-defined]


def test_the_table_deletes_the_sealed_identities_first_on_erasure(
    moto_endpoint: str, data_key: DataKey
) -> None:
    """An erasure's first batch deletes the orders' sealed identities, before the records, keys
    and results (a crash part-way leaves no identity behind)."""
    import uuid as _uuid

    from tests.support.aws import clients, create_table
    from wxface.dal.aws import AwsClients
    from wxface.dal.table import Table
    from wxface.ports.records import OrderRecord

    dynamodb = clients(moto_endpoint)["dynamodb"]
    name = f"domain-{_uuid.uuid4().hex[:10]}"
    create_table(dynamodb, name)
    table = Table(name, AwsClients(dynamodb=dynamodb))
    owner, now = data_key.owner("alice"), int(time.time())
    for n in range(30):  # more than one batch of 25
        order = OrderRecord(f"ord_{n:032x}", owner, "v1:x", now * 1000 + n, now + 60, now + 3600)
        table.put_order(order, "v1:sealed", epoch=0)
    batches: list[list[str]] = []
    original = dynamodb.batch_write_item

    def recording(**kwargs):  # type: ignore[no-untyped-def]
        batches.append(
            [
                w["DeleteRequest"]["Key"]["sk"]["S"]
                for w in kwargs["RequestItems"][name]
                if "DeleteRequest" in w
            ]
        )
        return original(**kwargs)

    dynamodb.batch_write_item = recording
    table.erase_user(owner)
    deleted = [sk for batch in batches for sk in batch]
    identities = [i for i, sk in enumerate(deleted) if sk == "IDENTITY"]
    assert len(identities) == 30 and identities == list(range(30))
    assert not [i for i in dynamodb.scan(TableName=name)["Items"] if i["pk"]["S"].startswith("ORDER#")]
