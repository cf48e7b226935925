"""`make bench` takes minutes, so it does not run in `make test`; these keep its parts working:
the probes a fresh process runs, and the report it writes."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import bench
from bench.common import Row, probe
from bench.report import render

ROOT = Path(__file__).resolve().parents[2]


def test_every_section_imports() -> None:
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name != "probes":
            importlib.import_module(f"bench.{module.name}")


def test_the_import_probe_times_a_handler_in_an_isolated_process_without_touching_the_network() -> None:
    env = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PARAM_PATH": "/x"}
    code = [str(ROOT / "functions" / "face_keys"), str(ROOT / "layers" / "wechat"), "keys_handler"]
    # -I -S: no site-packages; the venv's own libraries are reached through the layer argument.
    site = next(p for p in sys.path if p.endswith("site-packages"))
    answer = probe(sys.executable, "import_time", [code[0], f"{code[1]}{os.pathsep}{site}", code[2]], env)
    assert 0 < answer["s"] < 30


def test_the_report_is_a_markdown_table_of_the_rows() -> None:
    text = render(
        [Row("1 init", "baseline", "80.0 ms"), Row("2 first request", "keys", "1.1x", "<= 1.5x: met")],
        sys.executable,
    )
    assert "| 1 init | baseline | 80.0 ms |  |" in text
    assert "| 2 first request | keys | 1.1x | <= 1.5x: met |" in text


def test_the_warm_section_runs_against_its_stubs() -> None:
    """Section 3 drives the real handlers with stubbed AWS answers queued where each write
    happens: a change to the I/O of a route (a new write, a new read) must update the bench, or
    this fails (botocore's Stubber refuses an unexpected call). In its own process: the section
    replaces the runtime's singletons."""
    import subprocess

    script = (
        "import bench.warm as w, bench.common as c\n"
        "w.SAMPLES, w.WARM_UP = 3, 1\n"
        "w.run()\n"
        "assert any(r.section == '3 warm overhead' for r in c.rows)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "wechat"), str(ROOT / "local")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


# --- section 9, the cost model ------------------------------------------------------------------


def test_every_price_says_where_and_when_it_was_read_and_a_missing_one_says_why() -> None:
    from bench.cost import load_prices

    config = load_prices()
    assert {"ap-east-1", "cn-north-1"} <= set(config["regions"])
    # The reference region is marked as one, and complete: its table prices every component.
    references = [r for r in config["regions"].values() if r.get("reference")]
    assert all(all("value" in p for p in r["prices"].values()) for r in references)
    for region in config["regions"].values():
        assert region["currency"] in ("USD", "CNY")
        for name, price in region["prices"].items():
            assert price["source"].startswith("https://"), name
            assert price["read"] >= "2026-01-01", name
            assert ("value" in price) != ("missing" in price), name


def test_money_prices_what_it_can_and_names_what_it_cannot() -> None:
    from bench.cost import Usage, money

    prices = {
        "lambda_gb_second_arm": {"value": 0.00002, "per": 1},
        "dynamodb_write_unit": {"value": 1.5, "per": 1_000_000},
        "lambda_request": {"missing": "not read"},
    }
    known, missing = money(Usage(gb_seconds=1000, write_units=2_000_000, lambda_requests=10), prices, "arm")
    assert known == {"Lambda duration": 0.02, "DynamoDB writes": 3.0}
    assert missing == ["Lambda requests"]


def test_a_warm_request_is_billed_its_cpu_stretched_below_one_vcpu_plus_wechat_waits() -> None:
    from bench.cost import Step, billed_ms

    step = Step("FaceKeysFunction", 10.0, 0, 0, 0, 0, wechat=1, ssm=0, events=0)
    assert billed_ms(step, 1769, 100) == 110
    assert billed_ms(step, 512, 100) == 135  # 10 ms x 1769/512 = 34.6 ms of CPU, then WeChat
    assert billed_ms(step, 3538, 100) == 110  # above one vCPU a single thread goes no faster


def test_cold_starts_fade_as_traffic_keeps_containers_warm() -> None:
    from bench.cost import cold_share, load_prices

    model = load_prices()["model"]
    shares = [cold_share(v, model) for v in (100, 1_000, 100_000, 10_000_000)]
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > 0.9 and shares[-1] < 1e-6


def test_the_access_log_line_is_sized_from_the_templates_own_format() -> None:
    from bench.cost import access_log_bytes

    size = access_log_bytes(ROOT / "template.yaml")
    assert 150 < size < 400


def test_the_fixed_egress_address_is_priced_with_its_elastic_ip_as_a_public_ipv4_address() -> None:
    """The NAT gateway's Elastic IP is billed as a public IPv4 address (USD 0.005 an hour since
    February 2024): about USD 3.60 a month on top of the gateway's hours."""
    from bench.cost import egress, load_prices

    prices = load_prices()["regions"]["us-east-1"]["prices"]
    line = egress(prices, "USD", 720)
    assert line.startswith("USD 36.00 ") and "gateway 32.40" in line and "Elastic IP 3.60" in line
    cn = load_prices()["regions"]["cn-north-1"]["prices"]
    assert egress(cn, "CNY", 720) == "price missing: NAT gateway, public IPv4 address"


def test_a_scheduled_run_meets_every_cache_no_longer_than_its_period_expired() -> None:
    """The refresher runs every minute and caches the AppSecret 60 s: each deployed run reads it
    again, so the model measures its runs with that cache expired (two SSM reads a run, not one);
    a cache longer than the period keeps its age."""
    from bench.cost import caches_a_period_apart

    deployed = {
        "SECRET_CACHE_SECONDS": "60",
        "KEY_CACHE_SECONDS": "300",
        "TABLE_NAME": "t",
        "TOKEN_CACHE_SECONDS": "30",
    }
    assert caches_a_period_apart(deployed, 60) == {
        "SECRET_CACHE_SECONDS": "1",
        "KEY_CACHE_SECONDS": "300",
        "TABLE_NAME": "t",
        "TOKEN_CACHE_SECONDS": "1",
    }
    assert caches_a_period_apart({"SECRET_CACHE_SECONDS": "600"}, 60) == {"SECRET_CACHE_SECONDS": "600"}


def test_snapstart_costs_its_cached_versions_all_month_and_each_restore() -> None:
    """Hand-worked (us-east-1): 4 live versions of 1 GB cached 720 hours at USD 0.0000015046 a
    GB-second is 15.60; 1,000 restores of 1 GB at USD 0.0001397998 a GB is 0.14."""
    from bench.cost import load_prices, snapstart

    regions = load_prices()["regions"]
    line = snapstart(regions["us-east-1"]["prices"], "USD", functions=4, memory_mb=1024, seconds=720 * 3600,
                     restores=1000)  # fmt: skip
    assert line.startswith("USD 15.74 ") and "cache 15.60" in line and "restores 0.14" in line
    china = snapstart(
        regions["cn-north-1"]["prices"], "CNY", functions=4, memory_mb=1024, seconds=1, restores=1
    )
    assert china.startswith("price missing") and "not offered in the China regions" in china
