"""The soak's users: each plays rounds of what real users do until told to stop, and records
every answer it got. Kinds: ``typed`` (types a name and ID number), ``order`` (the business's
servers create an order for them first, and now and then cancel it while the key is out),
``abusive`` (reads others' keys, replays a used login code, bursts lookups). Clients retry as the
shipped mini-program client does: a key request lost on the network once with the same
Idempotency-Key, a login again after a 401, a not-finished check polled a few times; an erasure
answered 5xx is asked again."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from soak.checker import Answer, Observed, SeenResult
from tests.support.people import PEOPLE
from tests.support.stack import RunningStack

NOT_FINAL = {1: {10005}, 2: {10005, 10300}}
POLLS = 3


@dataclass
class Person:
    openid: str
    kind: str
    identity: tuple[str, str]
    rng: random.Random
    token: str | None = None
    codes: list[str] = field(default_factory=list)


@dataclass
class Record:
    observed: Observed = field(default_factory=Observed)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (owner openid, verify reference)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, person: Person, route: str, resp: httpx.Response) -> Any:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        with self.lock:
            self.observed.answers.append(
                Answer(person.openid, route, resp.status_code, body, resp.headers.get("retry-after"))
            )
        return body


def population(n: int, rng: random.Random) -> list[Person]:
    kinds = ["typed", "order", "abusive"] + [
        rng.choice(["typed", "typed", "order", "abusive"]) for _ in range(n - 3)
    ]
    return [
        Person(f"o-soak-{i}-{uuid.uuid4().hex[:6]}", kind, rng.choice(PEOPLE), random.Random(rng.random()))
        for i, kind in enumerate(kinds[:n])
    ]


def play(stack: RunningStack, person: Person, record: Record, stop: threading.Event) -> None:
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        while not stop.is_set():
            try:
                if person.kind == "abusive":
                    abuse(stack, http, person, record)
                else:
                    verify(stack, http, person, record)
                if person.rng.random() < 0.03 and erase(stack, http, person, record):
                    return  # erased: this user is done
            except httpx.HTTPError:
                time.sleep(0.2)  # the network failed this round: the user tries again
            time.sleep(person.rng.uniform(0.05, 0.4))


def call(
    http: httpx.Client, person: Person, record: Record, method: str, path: str, route: str, **kw: Any
) -> tuple[int, Any]:
    headers = dict(kw.pop("headers", {}))
    if person.token:
        headers["Authorization"] = f"Bearer {person.token}"
    resp = http.request(method, path, headers=headers, **kw)
    return resp.status_code, record.answer(person, route, resp)


def login(stack: RunningStack, http: httpx.Client, person: Person, record: Record) -> bool:
    code = stack.sim_control("/sim/login", {"openid": person.openid})["code"]
    person.codes.append(code)
    person.token = None
    status, body = call(http, person, record, "POST", "/v1/session", "POST /v1/session", json={"code": code})
    if status == 200:
        person.token = body["token"]
    return status == 200


def authed(
    stack: RunningStack, http: httpx.Client, person: Person, record: Record, method: str, path: str, **kw: Any
) -> tuple[int, Any]:
    if person.token is None and not login(stack, http, person, record):
        return 0, None
    route = f"{method} {path}"
    status, body = call(http, person, record, method, path, route, **kw)
    if status == 401 and login(stack, http, person, record):  # a session ended: log in again, once
        status, body = call(http, person, record, method, path, route, **kw)
    return status, body


def verify(stack: RunningStack, http: httpx.Client, person: Person, record: Record) -> None:
    version = stack.version
    asked_order: str | None = None
    if person.kind == "order":
        resp = stack.signed(
            "POST",
            "/v1/face/orders",
            {"openid": person.openid, "name": person.identity[0], "id_card_number": person.identity[1]},
        )
        record.answer(person, "POST /v1/face/orders", resp)
        if resp.status_code != 201:
            return
        asked_order = resp.json()["order_id"]
        with record.lock:
            record.observed.orders[asked_order] = (person.openid, None)
        body: dict[str, Any] = {"order_id": asked_order}
    else:
        body = {"name": person.identity[0], "id_card_number": person.identity[1]}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    try:
        status, key = authed(stack, http, person, record, "POST", "/v1/face/keys", json=body, headers=headers)
    except httpx.TransportError:  # lost on the network: once more, with the same key
        status, key = authed(stack, http, person, record, "POST", "/v1/face/keys", json=body, headers=headers)
    if status != 200:
        return
    reference = key["verify_id" if version == 2 else "user_id_key"]
    if asked_order and person.rng.random() < 0.15:  # the business changes its mind, the key out
        cancel(stack, person, record, asked_order)
    outcome = person.rng.choices(["pass", "fail", "closed", "abandon"], [70, 15, 8, 7])[0]
    if outcome == "abandon":
        return  # never did the face check
    with record.lock:
        record.observed.checked.add(person.openid)
    control: dict[str, Any] = {
        "openid": person.openid,
        ("verify_id" if version == 2 else "user_id_key"): reference,
    }
    if outcome == "fail":
        control["result_code"] = 10004
    answer = stack.sim_control("/sim/verify", control)
    looked_up = reference if version == 2 else answer["verify_result"]
    with record.lock:
        record.keys.append((person.openid, looked_up))
    if outcome == "closed":
        return  # the app was closed: the 2.0 sweep looks it up
    field_name = "verify_id" if version == 2 else "verify_result"
    for _ in range(POLLS + 1):
        status, result = authed(
            stack, http, person, record, "POST", "/v1/face/results", json={field_name: looked_up}
        )
        if status != 200:
            return
        final = result["result_code"] not in NOT_FINAL[version]
        with record.lock:
            record.observed.results.append(
                SeenResult(
                    person.openid,
                    result["passed"],
                    result["result_code"],
                    result["verified_at"],
                    final,
                    result["identity_source"],
                    result["order_id"],
                    asked_order,
                )
            )
        if final:
            return
        time.sleep(0.3)


def abuse(stack: RunningStack, http: httpx.Client, person: Person, record: Record) -> None:
    choice = person.rng.choice(["foreign", "replay", "burst"])
    if choice == "foreign":
        with record.lock:
            others = [ref for owner, ref in record.keys if owner != person.openid]
        if not others:
            return
        field_name = "verify_id" if stack.version == 2 else "verify_result"
        status, body = authed(
            stack,
            http,
            person,
            record,
            "POST",
            "/v1/face/results",
            json={field_name: person.rng.choice(others)},
        )
        with record.lock:
            record.observed.foreign_reads.append(Answer(person.openid, "POST /v1/face/results", status, body))
    elif choice == "replay" and person.codes:
        call(http, person, record, "POST", "/v1/session", "POST /v1/session", json={"code": person.codes[-1]})
    else:
        for _ in range(8):
            authed(stack, http, person, record, "GET", "/v1/face/results/latest")


def cancel(stack: RunningStack, person: Person, record: Record, order_id: str) -> None:
    """The business's servers cancel the order; what they were answered is what they rely on."""
    resp = stack.signed("DELETE", f"/v1/face/orders/{order_id}")
    record.answer(person, "DELETE /v1/face/orders/{order_id}", resp)
    if resp.status_code in (204, 409):
        with record.lock:
            record.observed.orders[order_id] = (person.openid, resp.status_code)


def erase(stack: RunningStack, http: httpx.Client, person: Person, record: Record) -> bool:
    """``DELETE /v1/me``, asked again after a 5xx (logging in again if that erasure had already
    ended the session), as a user who wants their data gone would."""
    if person.token is None:
        return False
    for _ in range(4):
        status, _ = authed(stack, http, person, record, "DELETE", "/v1/me")
        if status == 204:
            with record.lock:
                record.observed.erased[person.openid] = time.time()
            return True
        if status < 500:
            return False
        time.sleep(0.5)
    return False
