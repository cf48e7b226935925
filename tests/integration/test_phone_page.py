"""The phone page in a real browser (Chromium headless from the system's packages, driven by
Playwright with the system browser's path): a person logs in, agrees to the privacy notice
before typing, types a name and ID number, sees the backend's key, lets the face check pass or
fail, and reads the backend's verdict in Chinese; for both face API versions. It drives the
client module a mini-program ships (miniprogram/faceverify), through the simulator's /api
pass-through. Skipped only when no Chromium can be found on this machine."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.people import ALICE
from tests.support.stack import RunningStack, start_stack

ROOT = Path(__file__).resolve().parents[2]


def system_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = system_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs a Chromium browser (Debian: apt-get install chromium); none on PATH"
)


@pytest.fixture(scope="module", params=[2, 1], ids=["face-api-2", "face-api-1"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = tmp_path_factory.mktemp("phone") / "stack.log"
    running = start_stack(request.param, log, None, "--parameter-overrides", "KeyLimitPerHour=100")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # The system's browser: nothing is downloaded (no `playwright install`).
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_phone(browser: Any, stack: RunningStack) -> Any:
    page = browser.new_page(viewport={"width": 420, "height": 1100})
    page.goto(f"{stack.sim}/")
    page.wait_for_selector("body[data-ready=true]")
    return page


def log_in_and_type(page: Any, openid: str) -> None:
    page.fill("#openid", openid)
    page.click("#login")
    page.wait_for_selector(f"#session:has-text('已登录：{openid}')")
    # The privacy notice comes when the user starts typing, not at submit.
    page.click("#name")
    page.wait_for_selector("#privacy-sheet:not([hidden])")
    page.click("#privacy-agree")
    page.wait_for_selector("#privacy-status:has-text('已同意隐私保护指引')")
    page.fill("#name", ALICE[0])
    page.fill("#id-card-number", ALICE[1])


def test_a_person_verifies_on_the_phone_page_and_sees_the_backends_verdict(
    browser: Any, stack: RunningStack, tmp_path: Path
) -> None:
    page = open_phone(browser, stack)
    assert f"人脸核身 {stack.version}.0" in page.inner_text("#version")
    log_in_and_type(page, f"o-phone-pass-{stack.version}")
    page.click("#start")
    page.wait_for_selector("#face-sheet:not([hidden])")
    key = page.inner_text("#key")  # the backend's key is on the page before the face check
    assert ("verify_id: " if stack.version == 2 else "user_id_key: ") in key
    page.click("#face-pass")
    page.wait_for_selector("#outcome.passed")
    assert page.inner_text("#outcome") == "✓ 人脸核身成功"
    assert json.loads(page.inner_text("#answer"))["message_zh"] == "人脸核身成功"
    answer = page.inner_text("#answer")
    assert '"passed": true' in answer and '"identity_matched": true' in answer
    shot = page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PHONE_SCREENSHOT") and stack.version == 2:  # how the README's picture is made
        (ROOT / os.environ["PHONE_SCREENSHOT"]).write_bytes(shot)
    # What the phone did went through the product: its key and its result are stored.
    requests = page.text_content("#requests") or ""  # in a closed <details>: not rendered text
    assert "POST /v1/session → 200" in requests and "POST /v1/face/results → 200" in requests
    page.close()
    # The pass-through and the simulator log paths, never bodies: no name or ID number anywhere.
    log = stack.log_text()
    assert "/api/v1/face/keys" in log
    assert ALICE[0] not in log and ALICE[1] not in log


def test_the_order_flow_on_the_phone_page(browser: Any, stack: RunningStack) -> None:
    """The business's servers (played by the simulator, signed as the local business identity)
    create the order; the phone passes only its id, the face check passes, and the verdict says
    whose identity it was: the business's."""
    page = open_phone(browser, stack)
    openid = f"o-phone-order-{stack.version}"
    page.fill("#openid", openid)
    page.click("#login")
    page.wait_for_selector(f"#session:has-text('已登录：{openid}')")
    page.fill("#order-name", ALICE[0])
    page.fill("#order-id-card-number", ALICE[1])
    page.fill("#order-biz-ref", "loan-42")
    page.click("#create-order")
    page.wait_for_selector("#order:has-text('order_id: ord_')")
    page.click("#start-order")
    page.wait_for_selector("#privacy-sheet:not([hidden])")
    page.click("#privacy-agree")
    page.wait_for_selector("#face-sheet:not([hidden])")
    page.click("#face-pass")
    page.wait_for_selector("#outcome.passed")
    answer = page.inner_text("#answer")
    assert '"identity_source": "business"' in answer and '"biz_ref": "loan-42"' in answer
    assert ALICE[1] not in answer  # the phone never sees the order's identity
    page.close()


def test_a_failed_face_check_shows_wechats_reason_in_chinese(browser: Any, stack: RunningStack) -> None:
    page = open_phone(browser, stack)
    log_in_and_type(page, f"o-phone-fail-{stack.version}")
    page.click("#start")
    page.wait_for_selector("#face-sheet:not([hidden])")
    page.click("#face-fail")
    page.wait_for_selector("#outcome.failed")
    answer = json.loads(page.inner_text("#answer"))
    assert answer["passed"] is False and answer["result_code"] == 10004
    # The headline is the backend's own Chinese message: the two never disagree.
    assert page.inner_text("#outcome") == f"✗ {answer['message_zh']}"
    assert "比对" in answer["message_zh"]
    page.close()


def test_chinese_renders_as_glyphs_not_boxes(browser: Any, stack: RunningStack) -> None:
    """Pixels, not text: with the page's own font stack, two different Chinese words draw
    differently, and neither draws like characters no font has (the boxes a machine without a
    CJK font shows). Debian: fonts-noto-cjk, which .ci/run installs."""
    page = open_phone(browser, stack)
    drawn = page.evaluate(
        """() => {
          const font = getComputedStyle(document.body).fontFamily;
          const draw = (text) => {
            const canvas = document.createElement('canvas');
            canvas.width = 160; canvas.height = 40;
            const g = canvas.getContext('2d');
            g.font = `28px ${font}`; g.fillStyle = '#000'; g.fillText(text, 4, 32);
            return Array.from(g.getImageData(0, 0, 160, 40).data).join(',');
          };
          const boxes = draw('\ue000\ue001');
          const a = draw('实名'), b = draw('核验');
          return { different: a !== b, notBoxes: a !== boxes && b !== boxes };
        }"""
    )
    assert drawn == {"different": True, "notBoxes": True}, (
        "Chinese renders as boxes: install a CJK font (Debian: apt-get install fonts-noto-cjk)"
    )
    page.close()


def test_on_a_wide_screen_the_page_is_a_phone_in_wechats_look(browser: Any, stack: RunningStack) -> None:
    wide = browser.new_page(viewport={"width": 1280, "height": 1000})
    wide.goto(f"{stack.sim}/")
    wide.wait_for_selector("body[data-ready=true]")
    frame = wide.evaluate("() => getComputedStyle(document.querySelector('.phone')).borderTopWidth")
    assert frame == "12px"
    for part in (".status-bar", ".nav-bar", ".capsule"):
        assert wide.is_visible(part), part
    wide.close()
    narrow = open_phone(browser, stack)  # a phone's own width: no frame around it
    assert narrow.evaluate("() => getComputedStyle(document.querySelector('.phone')).borderTopWidth") == "0px"
    assert narrow.is_visible(".capsule")
    narrow.close()


def test_a_login_the_client_does_itself_shows_in_section_1(browser: Any, stack: RunningStack) -> None:
    page = open_phone(browser, stack)
    page.fill("#openid", f"o-phone-self-{stack.version}")
    page.click("#name")  # no click on 登录: verify() logs in by itself
    page.wait_for_selector("#privacy-sheet:not([hidden])")
    page.click("#privacy-agree")
    page.fill("#name", ALICE[0])
    page.fill("#id-card-number", ALICE[1][:-1] + ("0" if ALICE[1][-1] != "0" else "1"))  # refused
    page.click("#start")
    page.wait_for_selector("#outcome.failed")
    assert page.inner_text("#session") == f"已登录：o-phone-self-{stack.version}"
    assert page.inner_text("#key") == "—"  # no key shown for a refused number
    page.close()


def test_the_simulator_alone_says_at_once_that_it_has_no_backend(browser: Any, tmp_path: Path) -> None:
    from tests.support.simulator import start_sim

    sim = start_sim(tmp_path / "sim.log")
    try:
        page = browser.new_page(viewport={"width": 420, "height": 1000})
        page.goto(f"{sim.url}/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.is_visible("#no-backend")
        assert page.is_disabled("#login") and page.is_disabled("#start")
        page.close()
    finally:
        sim.stop()


def test_refusing_the_privacy_notice_keeps_the_fields_closed(browser: Any, stack: RunningStack) -> None:
    page = open_phone(browser, stack)
    page.click("#name")
    page.wait_for_selector("#privacy-sheet:not([hidden])")
    page.click("#privacy-refuse")
    page.wait_for_selector("#privacy-status:has-text('需要您同意隐私保护指引')")
    page.close()


def test_the_pass_through_reaches_the_api_and_forwards_only_what_the_api_needs(stack: RunningStack) -> None:
    # The API's own error body through the simulator's origin: the page needs no CORS.
    answer = httpx.post(f"{stack.sim}/api/v1/face/keys", json={"name": "x"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "access-control-allow-origin" not in answer.headers
