"""The local endpoint's writes by item and by partition key (capacity.Meter): what a load test
reads to find a hot item or partition (DynamoDB serves at most 1,000 write units a second on one
partition, however the table is provisioned)."""

from __future__ import annotations

from devstack.capacity import Meter, Units, item_name


def key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"sk": {"S": sk}, "pk": {"S": pk}}


def test_writes_are_reported_by_item_and_partition_with_their_busiest_second() -> None:
    now = [100.0]
    meter = Meter(clock=lambda: now[0])
    outbox_a, outbox_b = item_name(key("OUTBOX#3", "R#a")), item_name(key("OUTBOX#3", "R#b"))
    assert outbox_a == "OUTBOX#3|R#a"
    meter.add("f", Units(write=2), [(outbox_a, 2)])
    meter.add("f", Units(write=1), [(outbox_b, 1)])
    now[0] = 101.5
    meter.add(None, Units(write=1), [(outbox_a, 1)])
    snap = meter.snapshot()
    assert snap["items_written"] == 2
    assert snap["hot_items"][0] == {
        "item": outbox_a, "write_units": 3.0, "writes": 2, "peak_write_units_per_second": 2.0,
    }  # fmt: skip
    (partition,) = snap["hot_partitions"]
    assert partition["partition"] == "OUTBOX#3"
    assert (partition["write_units"], partition["writes"], partition["peak_write_units_per_second"]) == (
        4,
        3,
        3,
    )
    meter.reset()
    assert meter.snapshot()["hot_items"] == []
