"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import KEY_ANSWER, KEY_REQUEST, KeyRequest, KeyRequestByOrder
from wxface.api.openapi import idempotency_header, responses
from wxface.api.resolver import answer, api_entry
from wxface.api.router import Request, Response, Router
from wxface.runtime import Container

container = Container.for_function("face-keys")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
app = Router()
IDEMPOTENCY = idempotency_header(
    "user action: a retry with the same key and body within 10 minutes gets the same answer "
    "without a second WeChat call"
)


@app.route(
    "POST",
    "/v1/face/keys",
    summary="Issue the key for WeChat's face check (1.0 user_id_key, 2.0 verify_id)",
    operation_id="issueFaceKey",
    tags=("face",),
    body=KEY_REQUEST,
    headers=(IDEMPOTENCY,),
    responses=responses(
        200, KEY_ANSWER, "The key, valid for expires_in seconds", 401, 403, 404, 409, 410, 429
    ),
)
def create_key(request: Request, body: KeyRequest) -> Response:
    # Read here, checked by the use case (400 invalid_idempotency_key).
    idempotency = request.header(IDEMPOTENCY.name)
    if isinstance(body, KeyRequestByOrder):  # the identity of the business's order
        issued = container.issuance(
            request.caller, order_id=body.order_id, idempotency_key=idempotency, deadline=request.context
        )
    else:
        issued = container.issuance(
            request.caller,
            body.name,
            body.id_card_number,
            biz_ref=body.biz_ref,
            idempotency_key=idempotency,
            deadline=request.context,
        )
    return answer(200, issued)


entry = api_entry(app, logger, metrics)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_keys)


lambda_handler = observed.traced(handle)
