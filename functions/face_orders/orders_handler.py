"""Orders, for the business's servers (AWS IAM, SigV4; never a session): create, read and cancel
an order, and fetch a passed order's verification photo (face API 2.0)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxface.api.models import OrderAnswer, OrderCreated, OrderRequest, PhotoAnswer
from wxface.api.openapi import idempotency_header, responses
from wxface.api.resolver import answer, api_entry
from wxface.api.router import IAM, PathParam, Request, Response, Router
from wxface.runtime import Container

container = Container.for_function("face-orders")
observed = container.observed
logger, metrics = observed.logger, observed.metrics
app = Router()
IDEMPOTENCY = idempotency_header(
    "business action: a retry with the same key and body within 10 minutes gets the same order"
)
# In a path, anything but an order id is simply not an order: 404 (the use case says so), not 400.
ORDER_ID = PathParam("order_id", "The order's id (ord_ and 32 lower-case hex digits)")


@app.route(
    "POST",
    "/v1/face/orders",
    summary="Create an order: whom to verify (the business's servers choose the identity)",
    operation_id="createFaceOrder",
    tags=("business",),
    security=IAM,
    body=OrderRequest,
    headers=(IDEMPOTENCY,),
    responses=responses(201, OrderCreated, "The order, open for expires_in seconds", 403, 409),
)
def create_order(request: Request, body: OrderRequest) -> Response:
    created = container.orders.create(
        body.openid,
        body.name,
        body.id_card_number,
        biz_ref=body.biz_ref,
        idempotency_key=request.header(IDEMPOTENCY.name),
        deadline=request.context,
    )
    observed.count("OrdersCreated")
    return answer(201, created)


@app.route(
    "GET",
    "/v1/face/orders/{order_id}",
    summary="An order's state and its result",
    operation_id="readFaceOrder",
    tags=("business",),
    security=IAM,
    path_params=(ORDER_ID,),
    responses=responses(200, OrderAnswer, "The order (never its identity)", 403, 404),
)
def read_order(request: Request) -> Response:
    return answer(200, container.orders.read(request.path["order_id"]))


@app.route(
    "DELETE",
    "/v1/face/orders/{order_id}",
    summary="Cancel an order: no new key from it",
    operation_id="cancelFaceOrder",
    tags=("business",),
    security=IAM,
    path_params=(ORDER_ID,),
    responses=responses(204, None, "Cancelled (also when it already was)", 403, 404, 409),
)
def cancel_order(request: Request) -> Response:
    container.orders.cancel(request.path["order_id"])
    observed.count("OrdersCancelled")
    return answer(204)


@app.route(
    "GET",
    "/v1/face/photos/{order_id}",
    summary="The verification photo of a passed order (face API 2.0; fetched from WeChat, never stored)",
    operation_id="faceOrderPhoto",
    tags=("business",),
    security=IAM,
    path_params=(ORDER_ID,),
    responses=responses(200, PhotoAnswer, "The photo, base64", 403, 404, 410, 429),
)
def order_photo(request: Request) -> Response:
    photo = container.orders.photo(request.path["order_id"])
    observed.count("PhotosFetched")
    return answer(200, photo)


entry = api_entry(app, logger, metrics)


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return entry(event, context, container.edge_for_orders)


lambda_handler = observed.traced(handle)
