"""``python -m wechat_sim [--host 127.0.0.1] [--port 3001] [--api-url URL]``: run the WeChat
simulator (and its phone page at ``/``, which reaches the product at ``--api-url``).

Binds first, then prints ``WeChat simulator listening on http://HOST:PORT`` (with ``--port 0``
the port the system chose), so a parent process can read the URL from the first line.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

import uvicorn

from .app import create_app
from .config import SimConfig
from .phone import PhoneConfig


def _business_identity(args: argparse.Namespace) -> tuple[str, str] | None:
    """The local business identity the local stack hands over (``WECHAT_SIM_BUSINESS_KEY_ID`` /
    ``WECHAT_SIM_BUSINESS_SECRET``) for /sim/business/orders; never on another address than the
    loopback, nor with ``--also-host``."""
    key_id = os.environ.get("WECHAT_SIM_BUSINESS_KEY_ID", "").strip()
    secret = os.environ.get("WECHAT_SIM_BUSINESS_SECRET", "").strip()
    if (
        not (key_id and secret and args.api_url)
        or args.also_host
        or args.host not in ("127.0.0.1", "::1", "localhost")
    ):
        return None
    return key_id, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wechat_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument(
        "--api-url",
        help="the product's API, for the phone page at / (make run sets it); without it the page "
        "says there is no backend",
    )
    parser.add_argument(
        "--also-host",
        help="listen on this address too, same port (where containers reach this machine: make run CONTAINERS=...)",
    )
    parser.add_argument("--face-api-version", type=int, choices=[1, 2], default=2, help="for the phone page")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = SimConfig.from_env()
    except ValueError as exc:
        print(f"wechat_sim: {exc}", file=sys.stderr)
        return 2

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"wechat_sim: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    sockets = [sock]
    if args.also_host:
        also = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        also.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            also.bind((args.also_host, port))
        except OSError as exc:
            print(f"wechat_sim: cannot listen on {args.also_host}:{port}: {exc.strerror}", file=sys.stderr)
            return 1
        also.listen(128)
        sockets.append(also)
    print(f"WeChat simulator listening on http://{host}:{port} (appid {config.appid})", flush=True)

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(
                config,
                PhoneConfig(
                    api_url=args.api_url,
                    api_version=args.face_api_version,
                    business=_business_identity(args),
                ),
                containers_host=args.also_host,
            ),
            access_log=False,  # our own access log redacts tokens and secrets
            log_config=None,  # keep the logging set up above
            log_level=args.log_level,
            lifespan="off",
            # A request held by a delay fault must not hold up Ctrl-C (uvicorn waits for
            # requests in flight without a limit otherwise).
            timeout_graceful_shutdown=2,
        )
    )
    server.run(sockets=sockets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
