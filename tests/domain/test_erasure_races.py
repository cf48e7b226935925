"""Erasure wins every race: once ``DELETE /v1/me`` has answered, nothing that a request, session or
scheduled job begun before it does for that user is kept (no key, result, pending check, outbox
entry or idempotency record), nothing stored before it is replayed, and no event of such a result
is put after the user's ``FaceDataErased``. Each race is played with WeChat slowed down, the
erasure running while the other request waits for it. On both backends, both face API versions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tests.domain.conftest import Domain
from tests.support.handlers import Context
from tests.support.people import ALICE
from tests.support.simulator import SimTokens, fast_config
from tests.support.wechat import wechat_calls
from wxface.domain.errors import SessionEnded
from wxface.domain.events import ERASED_DELAY_S
from wxface.domain.stack_keys import sha256_hex

DELAY_MS = 1200
ISSUE = {1: "/cityservice/face/identify/getuseridkey", 2: "/cityservice/face/identify/getverifyid"}
LOOKUP = {1: "/cityservice/face/identify/getinfo", 2: "/cityservice/face/identify/queryverifyinfo"}


def patient(domain: Domain) -> Iterator[Domain]:
    """The domain with a WeChat client patient enough for a slowed-down WeChat."""
    with wechat_calls(
        fast_config(domain.sim.url, read_timeout=5.0, total_budget=6.0), tokens=SimTokens(domain.sim.url)
    ) as client:
        yield replace(domain, wechat=client)


@pytest.fixture
def slow(domain: Domain) -> Iterator[Domain]:
    yield from patient(domain)


@pytest.fixture
def slow_v2(v2: Domain) -> Iterator[Domain]:
    yield from patient(v2)


def racing(domain: Domain, path: str, request: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``request`` in a thread with WeChat's ``path`` slowed down; answers once WeChat has it
    (the request is past its own checks and waiting)."""
    domain.sim.control("/sim/faults", {"path": path, "delay_ms": DELAY_MS})
    before = domain.sim.calls().get(path, 0)
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(request())
        except Exception as err:
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while domain.sim.calls().get(path, 0) == before:
        assert time.monotonic() < deadline, "the request never reached WeChat"
        time.sleep(0.02)
    return thread, outcome


def erase(domain: Domain, openid: str) -> float:
    """The user's erasure, answered; returns when it happened."""
    at = time.time()
    domain.lookup().erase(domain.session(openid), now=at)
    return at


def test_a_key_asked_for_before_the_erasure_is_not_kept_nor_replayed(slow: Domain) -> None:
    openid = "race-key"
    old = slow.session(openid)
    thread, outcome = racing(
        slow,
        ISSUE[slow.version],
        lambda: slow.issuance()(old, *ALICE, idempotency_key="tap-1", deadline=Context()),
    )
    erase(slow, openid)
    # A new session retries the same Idempotency-Key while the old request still waits: a key of
    # its own, not the old request's, nor "in progress".
    new = slow.sign_in_again(openid)
    fresh = slow.issuance()(new, *ALICE, idempotency_key="tap-1", deadline=Context())
    thread.join()
    (raced,) = outcome
    assert isinstance(raced, SessionEnded)  # the old request's key is never answered
    again = slow.issuance()(new, *ALICE, idempotency_key="tap-1", deadline=Context())
    assert again == fresh  # and after it ended: the same new key
    # Nothing of the raced request is kept: the only key record is the new session's.
    field = "verify_id" if slow.version == 2 else "user_id_key"
    keys = [k.split("/")[0] for k in slow.backend.kept() if k.startswith("KEY#")]
    assert keys == [f"KEY#{sha256_hex(fresh[field])}"]
    with pytest.raises(SessionEnded):  # the old session cannot replay anything
        slow.issuance()(old, *ALICE, idempotency_key="tap-1", deadline=Context())
    slow.lookup().erase(new)
    assert slow.backend.kept() == [f for f in slow.backend.kept() if f.startswith("OUTBOX#")]


def test_a_key_request_in_flight_at_the_erasure_leaves_nothing(slow: Domain) -> None:
    openid = "race-key-alone"
    thread, outcome = racing(
        slow,
        ISSUE[slow.version],
        lambda: slow.issuance()(slow.session(openid), *ALICE, idempotency_key="k", deadline=Context()),
    )
    erase(slow, openid)
    thread.join()
    assert isinstance(outcome[0], SessionEnded)
    assert [k for k in slow.backend.kept() if not k.startswith("OUTBOX#")] == []  # FaceDataErased waits there


def test_a_lookup_in_flight_at_the_erasure_stores_nothing_and_puts_no_event(slow: Domain) -> None:
    openid = "race-lookup"
    ref = slow.face_check(openid, slow.key(openid, ALICE))
    old = slow.session(openid)
    thread, outcome = racing(slow, LOOKUP[slow.version], lambda: slow.look_up(openid, ref))
    erased_at = erase(slow, openid)
    thread.join()
    assert isinstance(outcome[0], SessionEnded)
    assert [k for k in slow.backend.kept() if not k.startswith("OUTBOX#")] == []
    slow.outbox().drain(erased_at + ERASED_DELAY_S)
    assert [e.detail_type for e in slow.bus.taken] == ["FaceDataErased"]
    assert slow.backend.kept() == []  # the emitter sent FaceDataErased: nothing of the user left
    with pytest.raises(SessionEnded):
        slow.lookup().latest(old)


def test_a_sweep_in_flight_at_the_erasure_stores_nothing_and_puts_no_event(slow_v2: Domain) -> None:
    """2.0 only: 1.0 has no sweep (its result reference lives only on the phone)."""
    slow = slow_v2
    openid = "race-sweep"
    slow.face_check(openid, slow.key(openid, ALICE))  # ... and the app was closed
    reports: list[dict[str, int]] = []
    thread, _ = racing(
        slow,
        LOOKUP[2],
        lambda: reports.append(slow.lookup().sweep(time.time() + slow.sweep_after_s + 1).as_dict()),
    )
    erased_at = erase(slow, openid)
    thread.join()
    assert reports == [{"erased": 1}]
    assert [k for k in slow.backend.kept() if not k.startswith("OUTBOX#")] == []
    slow.outbox().drain(erased_at + ERASED_DELAY_S)
    assert [e.detail_type for e in slow.bus.taken] == ["FaceDataErased"]
    assert slow.backend.kept() == []
