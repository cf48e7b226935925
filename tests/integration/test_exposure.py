"""``python -m devstack --host 0.0.0.0`` (a phone on the LAN reaching the local API) exposes only
the API: the simulator's control routes (log anyone in, pass any face check) and the local AWS
endpoint (whose operator credentials are documented) stay on the loopback."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.stack import start_stack

pytestmark = pytest.mark.integration


def this_machines_address() -> str | None:
    """An address of this machine other than the loopback (the one a LAN peer would use)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
        address = str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def test_only_the_api_listens_beyond_the_loopback(tmp_path: Path) -> None:
    stack = start_stack(2, tmp_path / "stack.log", None, "--host", "0.0.0.0")  # noqa: S104 - the point
    try:
        api, sim, aws = (urlsplit(url) for url in (stack.api, stack.sim, stack.aws))
        assert (sim.hostname, aws.hostname) == ("127.0.0.1", "127.0.0.1")
        assert api.port is not None and sim.port is not None and aws.port is not None
        assert stack.http.post("/v1/session", json={"code": "bad code"}).status_code == 400  # it runs
        address = this_machines_address()
        if address is not None:  # a machine with only a loopback has no one to hide from
            assert accepts(address, api.port)
            assert not accepts(address, sim.port)
            assert not accepts(address, aws.port)
    finally:
        stack.stop()
