"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import KeyAnswer, KeyRequest, KeyRequestByOrder
from wxface.api.openapi import idempotency_header, responses
from wxface.api.resolver import answer, api_entry, caller, create_resolver
from wxface.runtime import Container

container = Container.for_function("face-keys")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
app = create_resolver(logger)


@app.post(
    "/v1/face/keys",
    summary="Issue the key for WeChat's face check (1.0 user_id_key, 2.0 verify_id)",
    operation_id="issueFaceKey",
    tags=["face"],
    security=[{"session": []}],
    responses=responses(
        200, KeyAnswer, "The key, valid for expires_in seconds", 401, 403, 404, 409, 410, 429
    ),
)
def create_key(
    request: Annotated[KeyRequest, Body()],
    idempotency: Annotated[
        str | None,
        idempotency_header(
            "user action: a retry with the same key and body within 10 minutes gets the same answer "
            "without a second WeChat call"
        ),
    ] = None,
) -> Response[str]:
    if isinstance(request, KeyRequestByOrder):  # the identity of the business's order
        issued = container.issuance(
            caller(app), order_id=request.order_id, idempotency_key=idempotency, deadline=app.lambda_context
        )
    else:
        issued = container.issuance(
            caller(app),
            request.name,
            request.id_card_number,
            biz_ref=request.biz_ref,
            idempotency_key=idempotency,  # read by the resolver, checked by the use case
            deadline=app.lambda_context,
        )
    return answer(200, issued)


entry = api_entry(app, logger, metrics)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_keys)


lambda_handler = observed.traced(handle)
