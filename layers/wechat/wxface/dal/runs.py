"""More runs of this function, now and side by side: asynchronous Lambda invokes."""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import AwsClients

logger = logging.getLogger("wxface.runs")


class LambdaRuns:
    """Starts runs of ``function_name`` with ``InvocationType=Event`` (Lambda queues each and
    answers at once); a run Lambda would not take is logged and left to the next schedule."""

    def __init__(self, function_name: str, clients: AwsClients | None = None) -> None:
        self.function_name = function_name
        self._clients = clients or AwsClients()

    def start(self, payloads: list[dict[str, Any]]) -> int:
        """Start one run per payload; answers how many Lambda took."""
        client = self._clients.lambda_()
        started = 0
        for payload in payloads:
            try:
                client.invoke(
                    FunctionName=self.function_name,
                    InvocationType="Event",
                    Payload=json.dumps(payload).encode(),
                )
                started += 1
            except (ClientError, BotoCoreError) as err:
                code = str(getattr(err, "response", {}).get("Error", {}).get("Code", type(err).__name__))
                logger.warning("a run was not started", extra={"code": code})
        return started
