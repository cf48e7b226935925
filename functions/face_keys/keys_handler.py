"""POST /v1/face/keys: the key the mini-program hands to WeChat's face check."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from wxface import runtime
from wxface.api.http import parse_json
from wxface.api.models import KeyRequest
from wxface.api.resolver import answer, api_entry, caller_openid, create_resolver
from wxface.domain.issuance import IssuancePolicy, issue_key
from wxface.settings import settings

logger = Logger(service="face-keys")
tracer = Tracer(service="face-keys")
metrics = Metrics(service="face-keys")
app = create_resolver(logger)


@app.post("/v1/face/keys")
def create_key() -> Response[str]:
    openid = caller_openid(app, runtime.signing_keys())
    request = parse_json(app.current_event.raw_event, KeyRequest)
    s = settings()
    issued = issue_key(
        openid,
        request.name,
        request.id_card_number,
        policy=IssuancePolicy(s.face_api_version, s.key_limit_per_hour, s.lookup_window_s),
        table=runtime.table(),
        wechat=runtime.wechat(),
        data_key=runtime.data_key(),
    )
    metrics.add_metric(name="KeysIssued", unit=MetricUnit.Count, value=1)
    return answer(200, issued)


lambda_handler = api_entry(app, logger, tracer, metrics)
