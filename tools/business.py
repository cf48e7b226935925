"""The business's side of the stack, from its own servers: create, read and cancel an order, fetch
a passed order's verification photo, and read a user's latest result. Every request is signed
with botocore's SigV4 signer (service ``execute-api``), as API Gateway's IAM authorisation wants.

    .venv/bin/python tools/business.py <api url> create <openid> [--biz-ref REF] [--idempotency-key KEY]
    .venv/bin/python tools/business.py <api url> read <order_id>
    .venv/bin/python tools/business.py <api url> cancel <order_id>
    .venv/bin/python tools/business.py <api url> photo <order_id> [--out FILE]
    .venv/bin/python tools/business.py <api url> latest <openid>

``create`` reads the identity to verify as JSON on standard input (``{"name": ...,
"id_card_number": ...}``), or asks for it on a terminal (the number without echo): never on the
command line, where ``ps`` and the shell's history would keep it. ``photo`` writes the image to
FILE (mode 0600; default ``<order_id>.jpg``) and prints its type and size, never the image.

The credentials are those boto3 finds for any AWS program (environment, profile, instance or task
role); the caller's IAM identity needs the stack's managed policies (stack outputs):
``OrderManagerPolicy`` for create, read and cancel, ``OrderPhotoPolicy`` for the photo,
``ResultReaderPolicy`` for latest. The region comes from the API's URL
(``https://<id>.execute-api.<region>.amazonaws.com``), else ``--region`` or the environment.
Prints the answer's JSON; exits 0 on a 2xx answer, 1 otherwise (403: IAM does not allow the
caller; 404: unknown; see docs/api.md).

Copy it into your own services as a starting point: it needs only boto3 (or botocore alone).
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_REGION_IN_URL = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def api_url(api: str, *parts: str) -> str:
    if urllib.parse.urlsplit(api).scheme not in ("http", "https"):
        raise SystemExit(f"not an http(s) URL: {api}")
    return api.rstrip("/") + "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


def latest_result_url(api: str, openid: str) -> str:
    return api_url(api, "v1", "users", openid, "face", "results", "latest")


def signed_request(
    url: str,
    region: str,
    credentials: Credentials,
    *,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> AWSRequest:
    """A request of ``url`` signed for API Gateway (``execute-api``) in ``region``; the JSON body,
    if any, is signed as sent."""
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    all_headers = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = AWSRequest(method=method, url=url, data=data, headers=all_headers)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return request


def send(request: AWSRequest, timeout: float = 10.0) -> tuple[int, Any]:
    prepared = request.prepare()
    # http(s) only (api_url checks the scheme)
    outgoing = urllib.request.Request(  # noqa: S310
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method=prepared.method
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw or b"null")
        except ValueError:
            return err.code, raw.decode("utf-8", "replace")


def region_of(api: str, given: str | None, session: boto3.Session) -> str:
    host = urllib.parse.urlsplit(api).hostname or ""
    match = _REGION_IN_URL.search(host)
    region = given or (match.group(1) if match else None) or session.region_name
    if not region:
        raise SystemExit("no region: pass --region or set AWS_DEFAULT_REGION")
    return region


def identity_from(stdin: Any) -> dict[str, str]:
    """The identity to verify: JSON on standard input, or asked for on a terminal."""
    if stdin.isatty():
        name = input("name (as on the ID card): ").strip()
        number = getpass.getpass("ID card number (not shown): ").strip()
        return {"name": name, "id_card_number": number}
    try:
        given = json.loads(stdin.read())
    except ValueError:
        raise SystemExit('standard input must be JSON: {"name": "...", "id_card_number": "..."}') from None
    if not isinstance(given, dict) or not {"name", "id_card_number"} <= set(given):
        raise SystemExit('standard input must be JSON: {"name": "...", "id_card_number": "..."}')
    return {"name": str(given["name"]), "id_card_number": str(given["id_card_number"])}


def save_photo(answer: dict[str, Any], out: Path) -> dict[str, Any]:
    """The photo written to ``out`` (readable by its owner only: biometric data)."""
    image = base64.b64decode(answer["image_base64"])
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(image)
    return {"content_type": answer["content_type"], "bytes": len(image), "file": str(out)}


def main(argv: list[str] | None = None, stdin: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "api", help="the API's base URL (stack output ApiUrl, or http://127.0.0.1:3000 locally)"
    )
    parser.add_argument("--region", help="the API's region (default: from the URL, else the environment)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser(
        "create", help="create an order: whom to verify (identity on standard input)"
    )
    create.add_argument("openid", help="the user who must pass the face check (WeChat's openid for the app)")
    create.add_argument("--biz-ref", help="your own reference (1-64 of A-Za-z0-9_.:-; never personal data)")
    create.add_argument("--idempotency-key", help="the same key again returns the same order (retries)")
    for name, what in (("read", "an order's state and its result"), ("cancel", "cancel an open order")):
        commands.add_parser(name, help=what).add_argument("order_id")
    photo = commands.add_parser("photo", help="a passed order's verification photo (face API 2.0)")
    photo.add_argument("order_id")
    photo.add_argument("--out", type=Path, help="where to write the image (default: <order_id>.jpg)")
    latest = commands.add_parser("latest", help="a user's latest stored result")
    latest.add_argument("openid")
    args = parser.parse_args(argv)

    session = boto3.Session()
    found = session.get_credentials()
    if found is None:
        raise SystemExit("no AWS credentials found (environment, profile or role)")
    region = region_of(args.api, args.region, session)
    method, url, body, headers = "GET", "", None, {}
    if args.command == "create":
        method, url = "POST", api_url(args.api, "v1", "face", "orders")
        body = {"openid": args.openid, **identity_from(stdin or sys.stdin)}
        if args.biz_ref:
            body["biz_ref"] = args.biz_ref
        if args.idempotency_key:
            headers["Idempotency-Key"] = args.idempotency_key
    elif args.command in ("read", "cancel"):
        method = "GET" if args.command == "read" else "DELETE"
        url = api_url(args.api, "v1", "face", "orders", args.order_id)
    elif args.command == "photo":
        url = api_url(args.api, "v1", "face", "photos", args.order_id)
    else:
        url = latest_result_url(args.api, args.openid)
    status, answer = send(
        signed_request(url, region, found.get_frozen_credentials(), method=method, body=body, headers=headers)
    )
    if args.command == "photo" and status == 200 and isinstance(answer, dict):
        answer = save_photo(answer, args.out or Path(f"{args.order_id}.jpg"))
    if answer is not None:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    elif status == 204:
        print(json.dumps({"cancelled": args.order_id}))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
