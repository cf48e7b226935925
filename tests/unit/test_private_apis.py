"""The private APIs the project relies on, pinned: each test fails on the upgrade that changes
what the code assumes (the reason sits beside each use, in a comment)."""

from __future__ import annotations

import json

import boto3
from botocore.stub import Stubber


def test_powertools_get_reads_the_cache_entry_build_cache_key_names() -> None:
    """wxface.dal.params.SsmParams.prefetch seeds SSMProvider's cache under ``_build_cache_key``
    so that ``get`` finds it without another SSM call."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    client = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    provider = SSMProvider(boto3_client=client)
    provider.add_to_cache(key=provider._build_cache_key(name="/stack/key"), value="seeded", max_age=60)
    assert provider.has_not_expired_in_cache(provider._build_cache_key(name="/stack/key"))
    with Stubber(client):  # no response queued: any SSM call would fail the test
        assert provider.get("/stack/key", max_age=60, decrypt=True) == "seeded"


def test_motos_wsgi_app_serves_a_call_behind_the_gate() -> None:
    """local/devstack/aws_endpoint.py puts its gate in front of moto's WSGI app in one process."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.test import Client

    assert issubclass(MotoRequestHandler, WSGIRequestHandler)
    app = DomainDispatcherApplication(create_backend_app)
    answer = Client(app).post(
        "/",
        headers={
            "X-Amz-Target": "AmazonSSM.DescribeParameters",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261130/us-east-1/ssm/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64,
        },
        data=b"{}",
    )
    assert answer.status_code == 200
    assert "Parameters" in json.loads(answer.get_data())


def test_powertools_dynamodb_layer_builds_every_key_through_get_key() -> None:
    """wxface.domain.idempotency puts each record in its owner's partition by overriding the
    DynamoDB layer's ``_get_key``: every read and write must go through it."""
    import inspect

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    assert list(inspect.signature(DynamoDBPersistenceLayer._get_key).parameters) == [
        "self",
        "idempotency_key",
    ]
    source = inspect.getsource(DynamoDBPersistenceLayer)
    for method in ("_get_record", "_put_record", "_update_record", "_delete_record"):
        body = inspect.getsource(getattr(DynamoDBPersistenceLayer, method))
        assert "self._get_key(" in body, method
    assert "static_pk_value" in source


def test_powertools_dynamodb_layer_puts_through_its_client_and_completes_through_update_record() -> None:
    """wxface.domain.idempotency stamps the in-progress record with a writer token by wrapping the
    layer's ``client.put_item``, and replaces ``_update_record`` / ``_delete_record`` (both take
    the DataRecord only) with writes conditioned on it. A failed completion must reach the caller
    as the cause of IdempotencyPersistenceLayerError, and the response hook must run for replays
    only."""
    import inspect

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler

    assert "self.client.put_item(" in inspect.getsource(DynamoDBPersistenceLayer._put_record)
    for method in ("_update_record", "_delete_record"):
        assert list(inspect.signature(getattr(DynamoDBPersistenceLayer, method)).parameters) == [
            "self",
            "data_record",
        ]
    completes = inspect.getsource(IdempotencyHandler._get_function_response)
    assert "self.persistence_store.save_success(" in completes
    assert "from save_exception" in completes
    assert "response_hook" not in completes  # a run's own answer does not go through the hook
    assert "self.config.response_hook(" in inspect.getsource(IdempotencyHandler._handle_for_status)
