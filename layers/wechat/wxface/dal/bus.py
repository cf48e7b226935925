"""EventBridge, as :class:`wxface.domain.events.EventBus`: PutEvents on the stack's bus."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .aws import AwsClients

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from ..ports.records import BusEvent

logger = logging.getLogger("wxface.bus")


class EventBridgeBus:
    def __init__(self, bus_name: str, source: str, clients: AwsClients | None = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self._clients = clients or AwsClients()

    @property
    def client(self) -> EventBridgeClient:
        return self._clients.events()

    def publish(self, events: Sequence[BusEvent]) -> list[bool]:
        """Which events EventBridge took. PutEvents can take some entries of a call and refuse
        others (``FailedEntryCount``): each entry's answer is read. A call that failed took none."""
        if not events:
            return []
        entries: list[PutEventsRequestEntryTypeDef] = [
            {
                "Source": self.source,
                "DetailType": e.detail_type,
                "Detail": e.detail,
                "EventBusName": self.bus_name,
            }
            for e in events
        ]
        try:
            resp = self.client.put_events(Entries=entries)
        except Exception as err:  # botocore's ClientError / BotoCoreError: nothing was taken
            logger.warning("PutEvents failed", extra={"error": type(err).__name__, "code": _code(err)})
            return [False] * len(events)
        answers = resp.get("Entries", [])
        taken = [bool(a.get("EventId")) and not a.get("ErrorCode") for a in answers]
        refused = sorted({str(a.get("ErrorCode")) for a in answers if a.get("ErrorCode")})
        if refused:
            logger.warning("PutEvents refused entries", extra={"codes": refused})
        return taken + [False] * (len(events) - len(taken))


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
