"""Every domain test runs twice: on the in-memory store (milliseconds) and on the local AWS
endpoint (moto's server mode, the same requests the functions make), so the fake can never be
more lenient than DynamoDB. WeChat is the simulator, over a real socket."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from tests.support.aws import clients, create_table
from tests.support.handlers import Context
from tests.support.memory import MemoryIdempotency, MemoryStore
from tests.support.simulator import RunningSim
from tests.support.wechat import Calls
from wxface.answers import ResultAnswer
from wxface.dal.aws import AwsClients
from wxface.dal.idempotency import IdempotencyTable
from wxface.dal.table import Table
from wxface.domain.events import BusEvent, Outbox
from wxface.domain.idempotency import IdempotentCalls
from wxface.domain.issuance import IssuancePolicy, KeyIssuance
from wxface.domain.orders import OrderPolicy, Orders
from wxface.domain.results import ResultLookup
from wxface.domain.sessions import Session
from wxface.domain.stack_keys import DataKey, SealingKey
from wxface.ports.store import Store


@dataclass
class RecordingBus:
    """EventBridge as the domain sees it: records what it took; ``refuse`` refuses that many
    events (one call may take some entries and refuse others, as PutEvents does)."""

    taken: list[BusEvent] = field(default_factory=list)
    refuse: int = 0
    calls: int = 0

    def publish(self, events: Any) -> list[bool]:
        self.calls += 1
        out = []
        for event in events:
            if self.refuse > 0:
                self.refuse -= 1
                out.append(False)
            else:
                self.taken.append(event)
                out.append(True)
        return out

    def details(self, detail_type: str = "FaceVerificationCompleted") -> list[dict[str, Any]]:
        import json

        return [json.loads(e.detail) for e in self.taken if e.detail_type == detail_type]


@dataclass
class Backend:
    kind: str
    store: Store
    idempotent_calls: IdempotentCalls
    idempotency: MemoryIdempotency | None = None  # the memory backend's records

    def kept(self) -> list[str]:
        """What the store holds of users (this test's only): keys, results, the users' indexes,
        pending checks, outbox entries and idempotency records; not counters, the users' own
        items (their limits and erasure epoch) or the audit trail."""
        if isinstance(self.store, MemoryStore):
            memory = self.store
            idempotency = self.idempotency.records if self.idempotency is not None else {}
            return [
                *(f"KEY#{r}" for r in memory.keys),
                *(f"RESULT#{r}" for r in memory.results),
                *(f"USER#{o}/{sk}" for o, index in memory.index.items() for sk in index),
                *(f"PENDING#{r}" for r in memory.pending),
                *(f"OUTBOX#{e}" for e in memory.outbox),
                *(f"IDEMPOTENCY#{o}/{k}" for o, k in idempotency),
                *(f"ORDER#{i}/ORDER" for i in memory.orders),
                *(f"ORDER#{i}/IDENTITY" for i in memory.order_identities),
                *(f"ORDER#{i}/PHOTO" for i in memory.order_photos),
            ]
        assert isinstance(self.store, Table)
        items = self.store.client.scan(TableName=self.store.name)["Items"]
        kinds = ("KEY#", "RESULT#", "USER#", "PENDING#", "OUTBOX#", "IDEMPOTENCY#", "ORDER#")
        return sorted(f"{i['pk']['S']}/{i['sk']['S']}" for i in items if i["pk"]["S"].startswith(kinds))


@pytest.fixture(params=["memory", pytest.param("local-aws", marks=pytest.mark.local_aws)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        memory = MemoryIdempotency()
        calls = IdempotentCalls(memory.store())
        return Backend("memory", MemoryStore(), calls, memory)
    endpoint: str = request.getfixturevalue("moto_endpoint")
    dynamodb = clients(endpoint)["dynamodb"]
    name = f"domain-{uuid.uuid4().hex[:10]}"
    create_table(dynamodb, name)
    on_table = IdempotentCalls(IdempotencyTable(name, dynamodb))
    return Backend("local-aws", Table(name, AwsClients(dynamodb=dynamodb)), on_table)


@pytest.fixture
def data_key() -> DataKey:
    return DataKey(secrets.token_bytes(32))


@dataclass
class Domain:
    """The use cases as a container builds them, on one backend, one WeChat, one data key."""

    backend: Backend
    wechat: Calls
    sim: RunningSim
    data_key: DataKey
    version: Literal[1, 2] = 2
    sealing_key: SealingKey = field(default_factory=lambda: SealingKey(secrets.token_bytes(32)))
    sessions: dict[str, Session] = field(default_factory=dict)
    keys_per_hour: int = 5
    lookups_per_hour: int = 60
    lookup_window_s: int = 900
    bus: RecordingBus = field(default_factory=RecordingBus)
    retry_s: int = 60
    pauses: list[float] = field(default_factory=list)
    sweep_after_s: int = 600
    order_key: SealingKey = field(default_factory=lambda: SealingKey(secrets.token_bytes(32)))
    identity_source: Literal["user", "business", "either"] = "either"
    order_ttl_s: int = 86400

    def issuance(self) -> KeyIssuance:
        policy = IssuancePolicy(
            self.version,
            self.keys_per_hour,
            self.lookup_window_s,
            sweep_after_s=self.sweep_after_s,
            identity_source=self.identity_source,
        )
        return KeyIssuance(
            policy,
            self.backend.store,
            self.wechat,
            self.data_key,
            self.backend.idempotent_calls,
            sealing_key=lambda: self.sealing_key,
            order_key=lambda: self.order_key,
        )

    def orders(self) -> Orders:
        policy = OrderPolicy(self.version, ttl_s=self.order_ttl_s, retention_s=86400)
        return Orders(
            policy,
            self.backend.store,
            self.data_key,
            lambda: self.order_key,
            self.wechat,
            self.backend.idempotent_calls,
        )

    def order(self, openid: str, person: tuple[str, str], **kwargs: Any) -> str:
        """The business's servers create an order for ``openid`` to verify ``person``."""
        return self.orders().create(openid, *person, deadline=Context(), **kwargs).order_id

    def key_for_order(self, openid: str, order_id: str, **kwargs: Any) -> str:
        answer = self.issuance()(self.session(openid), order_id=order_id, deadline=Context(), **kwargs)
        return str(answer["verify_id" if self.version == 2 else "user_id_key"])

    def lookup(self) -> ResultLookup:
        return ResultLookup(
            self.backend.store,
            self.wechat,
            self.data_key,
            retention_s=86400,
            lookups_per_hour=self.lookups_per_hour,
            api_version=self.version,
            forget_idempotency=self.backend.idempotent_calls.erase,
            sealing_key=lambda: self.sealing_key,
            outbox=self.outbox(),
        )

    def outbox(self) -> Outbox:
        return Outbox(
            self.backend.store,
            self.bus,
            lambda: self.sealing_key,
            retention_s=86400,
            retry_s=self.retry_s,
            sleep=self.pauses.append,  # the emitter's pauses between attempts in a run, recorded
        )

    def session(self, openid: str) -> Session:
        """The user's session (signed in a minute ago, once per test)."""
        return self.sessions.setdefault(openid, Session(openid, int(time.time()) - 60))

    def sign_in_again(self, openid: str) -> Session:
        """A new session, as a login now issues it (as after an erasure ended the old one): the
        user's erasure epoch read now, in the same second as whatever came before."""
        epoch = self.backend.store.erasure_epoch(self.data_key.owner(openid))
        self.sessions[openid] = Session(openid, int(time.time()), epoch)
        return self.sessions[openid]

    def key(self, openid: str, person: tuple[str, str], **kwargs: Any) -> str:
        answer = self.issuance()(self.session(openid), *person, deadline=Context(), **kwargs)
        return str(answer["verify_id" if self.version == 2 else "user_id_key"])

    def face_check(self, openid: str, key: str, result_code: int | None = None) -> str:
        """The user does the face check on the phone; answers what the mini-program then holds
        (1.0: a verify_result; 2.0: the verify_id itself)."""
        body: dict[str, Any] = {"openid": openid, ("verify_id" if self.version == 2 else "user_id_key"): key}
        if result_code is not None:
            body["result_code"] = result_code
        answer = self.sim.control("/sim/verify", body)
        return key if self.version == 2 else str(answer["verify_result"])

    def look_up(self, openid: str, ref: str, now: float | None = None) -> ResultAnswer:
        return self.lookup().look_up(self.session(openid), self.version, ref, now)


@pytest.fixture(params=[1, 2], ids=["face-api-1", "face-api-2"])
def domain(
    request: pytest.FixtureRequest,
    backend: Backend,
    client: Calls,
    fresh_sim: RunningSim,
    data_key: DataKey,
) -> Domain:
    return Domain(backend, client, fresh_sim, data_key, version=request.param)


@pytest.fixture
def v1(backend: Backend, client: Calls, fresh_sim: RunningSim, data_key: DataKey) -> Domain:
    """Face API 1.0 only (for rules that exist only there)."""
    return Domain(backend, client, fresh_sim, data_key, version=1)


@pytest.fixture
def v2(backend: Backend, client: Calls, fresh_sim: RunningSim, data_key: DataKey) -> Domain:
    """Face API 2.0 only."""
    return Domain(backend, client, fresh_sim, data_key, version=2)
