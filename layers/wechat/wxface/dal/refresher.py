"""The token refresher run now, as a reader asks for it: a synchronous Lambda invoke."""

from __future__ import annotations

import json
from typing import Any

from .aws import AwsClients


class LambdaRefresher:
    """:class:`wxface.ports.params.Refresher` on Lambda (``InvocationType=RequestResponse``)."""

    def __init__(self, function_name: str, clients: AwsClients | None = None) -> None:
        self.function_name = function_name
        self._clients = clients or AwsClients()

    def run_now(self, payload: dict[str, Any]) -> dict[str, Any]:
        resp = self._clients.lambda_().invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        if resp.get("FunctionError"):
            return {"ok": False}
        answer = json.loads(resp["Payload"].read() or b"{}")
        return answer if isinstance(answer, dict) else {"ok": False}
