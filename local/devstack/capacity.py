"""DynamoDB request units as DynamoDB bills an on-demand table, for the calls the local endpoint
serves (moto answers ``ConsumedCapacity`` with a constant, so the local stack works them out).

The rules, from the DynamoDB Developer Guide ("DynamoDB read and write operations", "Item sizes
and formats", "Capacity management for transactions"):

- an item's size is the sum of its attribute names' UTF-8 bytes and its values' sizes: a string
  its UTF-8 bytes, a binary its raw bytes, a number about one byte per two significant digits
  plus one, a boolean or null one byte, a list or map 3 bytes plus its elements plus one byte per
  element (a map's keys counted like attribute names), a set the sum of its elements;
- a write costs one unit per started KB of the item (PutItem and UpdateItem: the larger of the
  item before and after; DeleteItem: the deleted item; at least one unit even when nothing was
  there), a transactional write two per KB for each action, ConditionCheck included;
- a read costs one unit per started 4 KB (strongly consistent) or half of that (eventually
  consistent, the default), a Query the summed size of the items it returns rounded up once, a
  transactional read two per 4 KB for each item.

A call refused before the service (IAM, throttling, injected faults) is not metered; a call the
service refuses with a ConditionalCheckFailed still is, on the item's size, as DynamoDB does.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: one per two significant digits, plus one."""
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0]
    significant = digits.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON form (``{"S": "..."}`` and so on)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind == "N":
        return number_size(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, dict[str, Any]] | None) -> int:
    """Bytes of an item (attribute names plus values); 0 for no item."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, *, consistent: bool) -> float:
    blocks = max(1, math.ceil(size / READ_BLOCK))
    return float(blocks) if consistent else blocks / 2


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0

    def add(self, other: Units) -> None:
        self.read += other.read
        self.write += other.write


# (table, key) -> the item as stored now, or None. The endpoint passes moto's backend behind it.
Lookup = Callable[[str, dict[str, Any]], dict[str, Any] | None]


def _keyed(action: dict[str, Any], lookup: Lookup) -> dict[str, Any] | None:
    return lookup(action["TableName"], action["Key"])


def _put_key(action: dict[str, Any], key_names: Callable[[str], list[str]]) -> dict[str, Any]:
    return {name: action["Item"][name] for name in key_names(action["TableName"])}


@dataclass
class Metered:
    """One call's units, worked out in two halves around the service's own answer."""

    operation: str
    params: dict[str, Any]
    before: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)  # (kind, key, size)
    writes: list[tuple[str, float]] = field(default_factory=list)  # (item, write units): units()'s

    def units(self, lookup: Lookup, key_names: Callable[[str], list[str]], answer: bytes) -> Units:
        op, p = self.operation, self.params
        if op == "GetItem":
            size = self.before[0][2] if self.before else 0
            return Units(read=read_units(size, consistent=bool(p.get("ConsistentRead"))))
        if op == "Query" or op == "Scan":
            try:
                items = json.loads(answer or b"{}").get("Items", [])
            except ValueError:
                items = []
            size = sum(item_size(i) for i in items)
            return Units(read=read_units(size, consistent=bool(p.get("ConsistentRead"))))
        if op == "TransactGetItems":
            return Units(read=sum(2 * read_units(size, consistent=True) for _, _, size in self.before))
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            units = write_units(self._after(op, p, self.before[0], lookup))
            self.writes.append((item_name(self.before[0][1]), units))
            return Units(write=units)
        if op == "TransactWriteItems":
            total = 0
            for (kind, action), seen in zip(_transact_actions(p), self.before, strict=True):
                units = 2 * write_units(self._after(kind, action, seen, lookup))
                self.writes.append((item_name(seen[1]), units))
                total += units
            return Units(write=total)
        if op == "BatchGetItem":
            return Units(
                read=sum(read_units(size, consistent=kind == "Get") for kind, _, size in self.before)
            )
        if op == "BatchWriteItem":
            self.writes += [(item_name(key), write_units(size)) for _, key, size in self.before]
            return Units(write=sum(write_units(size) for _, _, size in self.before))
        return Units()

    @staticmethod
    def _after(
        kind: str, action: dict[str, Any], seen: tuple[str, dict[str, Any], int], lookup: Lookup
    ) -> int:
        before = seen[2]
        if kind in ("PutItem", "Put"):
            return max(before, item_size(action.get("Item")))
        if kind in ("UpdateItem", "Update"):
            return max(before, item_size(lookup(action["TableName"], seen[1])))
        return before  # Delete, ConditionCheck: the item as it was


def _transact_actions(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in params.get("TransactItems", []):
        (kind, action), *_ = entry.items()
        out.append((kind, action))
    return out


def before(
    operation: str, params: dict[str, Any], lookup: Lookup, key_names: Callable[[str], list[str]]
) -> Metered | None:
    """What a DynamoDB call will touch, read before the service runs it; None for calls that
    are not billed per request unit (DescribeTable and the like)."""
    m = Metered(operation, params)
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        m.before.append(("", params["Key"], item_size(_keyed(params, lookup))))
    elif operation == "PutItem":
        key = _put_key(params, key_names)
        m.before.append(("", key, item_size(lookup(params["TableName"], key))))
    elif operation == "TransactWriteItems":
        for kind, action in _transact_actions(params):
            key = _put_key(action, key_names) if kind == "Put" else action["Key"]
            m.before.append((kind, key, item_size(lookup(action["TableName"], key))))
    elif operation == "TransactGetItems":
        for entry in params.get("TransactItems", []):
            get = entry["Get"]
            m.before.append(("Get", get["Key"], item_size(lookup(get["TableName"], get["Key"]))))
    elif operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    key = {name: item[name] for name in key_names(table)}
                    size = max(item_size(item), item_size(lookup(table, key)))
                    m.before.append(("Put", key, size))
                else:
                    key = request["DeleteRequest"]["Key"]
                    m.before.append(("Delete", key, item_size(lookup(table, key))))
    elif operation == "BatchGetItem":
        for table, request in params.get("RequestItems", {}).items():
            consistent = bool(request.get("ConsistentRead"))
            for key in request.get("Keys", []):
                m.before.append(
                    ("Get" if consistent else "GetEventually", key, item_size(lookup(table, key)))
                )
    elif operation not in ("Query", "Scan"):
        return None
    return m


def item_name(key: dict[str, Any]) -> str:
    """An item's key as ``pk|sk`` (the values only; the table's keys hold no clear data)."""
    return "|".join(str(next(iter(v.values()))) for _, v in sorted(key.items()))


@dataclass
class ItemWrites:
    """One item's writes: DynamoDB serves at most 1,000 write units a second on one item (its
    partition's limit), however the table is provisioned."""

    units: float = 0.0
    writes: int = 0
    second: int = 0
    in_second: float = 0.0
    peak_units_per_second: float = 0.0

    def add(self, units: float, now: float) -> None:
        self.units += units
        self.writes += 1
        if int(now) != self.second:
            self.second, self.in_second = int(now), 0.0
        self.in_second += units
        self.peak_units_per_second = max(self.peak_units_per_second, self.in_second)


HOT_ITEMS = 20  # the items the snapshot names, most written first


class Meter:
    """Units served since the last reset, in total, by calling function (logical id), and by
    item written (``hot_items``: where one item takes more than its share)."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = Units()
            self.by_function: dict[str, Units] = {}
            self.by_item: dict[str, ItemWrites] = {}
            self.by_partition: dict[str, ItemWrites] = {}  # by partition key: items that share one

    def add(self, function: str | None, units: Units, writes: list[tuple[str, float]] | None = None) -> None:
        now = self._clock()
        with self._lock:
            self.total.add(units)
            if function is not None:
                self.by_function.setdefault(function, Units()).add(units)
            for item, n in writes or []:
                self.by_item.setdefault(item, ItemWrites()).add(n, now)
                self.by_partition.setdefault(item.split("|", 1)[0], ItemWrites()).add(n, now)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "read_units": self.total.read,
                "write_units": self.total.write,
                "by_function": {
                    name: {"read_units": u.read, "write_units": u.write}
                    for name, u in self.by_function.items()
                },
                "items_written": len(self.by_item),
                "hot_items": _hottest(self.by_item, "item"),
                "hot_partitions": _hottest(self.by_partition, "partition"),
            }


def _hottest(writes: dict[str, ItemWrites], name: str) -> list[dict[str, Any]]:
    return [
        {
            name: key,
            "write_units": w.units,
            "writes": w.writes,
            "peak_write_units_per_second": w.peak_units_per_second,
        }
        for key, w in sorted(writes.items(), key=lambda kv: -kv[1].units)[:HOT_ITEMS]
    ]
