"""The dashboard in a real headless Chromium (Debian's, driven by playwright) against a private mesh: a host and a
guest use it end to end and watch each saga unfold; screenshots of each step land in the test's tmp_path."""

from __future__ import annotations

import random
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Mesh, mesh_config
from tests.test_resilience import payment_down

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium: `apt-get install -y chromium` (as root)"),
]
WITHIN_S = 1.0  # the room view follows an event within this, without a reload
# Chromium logs every non-2xx fetch as "Failed to load resource"; the page shows those errors itself.
NETWORK_LINE = "Failed to load resource: the server responded with a status of"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with Mesh.start(mesh_config(tmp_path_factory.mktemp("dashboard"))) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, site: Mesh) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 375, "height": 900})
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"pageerror: {error}"))
    tab.on("console", lambda m: m.type == "error" and NETWORK_LINE not in m.text and tab.problems.append(m.text))
    tab.goto(site.url + "/")
    yield tab
    context.close()
    assert tab.problems == [], "no console errors"


def sign_in(page: Any, who: str) -> None:
    if page.locator("#signout").is_visible():
        page.click("#signout")
    page.select_option("#demo-user", label=who)
    page.click("#signin button[type=submit]")
    page.wait_for_selector(f"#who:has-text('Signed in as {who}')")


def stay() -> tuple[str, str]:
    year, day = random.randint(2060, 2090), random.randint(10, 20)
    return f"{year}-06-{day}", f"{year}-06-{day + 2}"


def register_and_search(page: Any, shots: Path, tag: str) -> tuple[str, tuple[str, str]]:
    sign_in(page, "host h1")
    description = f"Dashboard room {tag} {uuid.uuid4().hex[:6]}"
    page.fill("#description", description)
    page.click("#register button")
    row = page.locator("#my-rooms tbody tr", has_text=description)
    row.wait_for()
    room_id = row.locator("td").first.inner_text()
    page.screenshot(path=shots / f"{tag}-1-host-registered.png", full_page=True)
    sign_in(page, "guest g1")
    dates = stay()
    page.fill("#check-in", dates[0])
    page.fill("#check-out", dates[1])
    page.click("#search button")
    page.locator("#free-rooms tbody tr", has_text=room_id).wait_for()
    page.screenshot(path=shots / f"{tag}-2-guest-search.png", full_page=True)
    return room_id, dates


def search_again(page: Any, room_id: str) -> bool:
    page.click("#search button")  # the table says "searching" until the answer is shown
    page.wait_for_selector("#free-rooms[data-state='done']")
    return page.locator("#free-rooms tbody tr", has_text=room_id).count() > 0


def test_host_registers_guest_reserves_watches_the_saga_and_cancels(page: Any, tmp_path: Path) -> None:
    room_id, _ = register_and_search(page, tmp_path, "journey")
    other = page.locator("#free-rooms tbody tr").count()
    started = time.monotonic()
    page.click(f"button[aria-label='Reserve room {room_id}']")
    page.wait_for_selector("#steps li[data-step='room reserved']", timeout=10_000)
    reserved_after = time.monotonic() - started
    view = page.locator("#views tbody tr", has_text=room_id)
    view.locator("td:nth-child(2)", has_text="reserved").wait_for(timeout=WITHIN_S * 1000)
    saga = {"room held", "payment approved", "requested", "reservation confirmed", "room reserved"}
    # The room view takes each producer's events from its own stream: RoomReserved may be shown a poll before the
    # ReservationConfirmed that caused it. Each step must show up, and nothing else.
    for step in saga:
        page.wait_for_selector(f"#steps li[data-step='{step}']", timeout=WITHIN_S * 1000)
    steps = page.locator("#steps li").evaluate_all("items => items.map(i => i.dataset.step)")
    assert set(steps) == saga
    print(f"\nclick on 'reserve' -> 'room reserved' on the page: {reserved_after * 1000:.0f} ms")
    page.screenshot(path=tmp_path / "journey-3-reserved.png", full_page=True)
    assert not search_again(page, room_id), "the room is no longer free on those nights"
    assert other >= 1
    row = page.locator("#my-reservations tbody tr", has_text=room_id)
    row.wait_for()
    row.locator("button", has_text="Cancel").click()
    page.wait_for_selector("#steps li[data-step='payment refunded']")
    page.wait_for_selector("#steps li[data-step='room released']")
    assert page.locator("#steps li[data-step='cancelled']").count() == 1
    page.screenshot(path=tmp_path / "journey-4-cancelled.png", full_page=True)
    assert search_again(page, room_id), "cancelled: the nights are free again"
    print(f"screenshots: {tmp_path}")


def test_a_reservation_while_payment_is_stopped_shows_503_and_the_compensation(
    page: Any, site: Mesh, tmp_path: Path
) -> None:
    room_id, _ = register_and_search(page, tmp_path, "failure")
    with payment_down(site, "stopped"):
        page.click(f"button[aria-label='Reserve room {room_id}']")
        error = page.locator("#error")
        error.wait_for()
        said = error.inner_text()
        assert said.startswith("503 Unavailable: payment is unavailable") and "was undone" in said, said
        page.wait_for_selector("#steps li[data-step='room released']")
        steps = page.locator("#steps li").evaluate_all("items => items.map(i => i.dataset.step)")
        assert steps == ["room held", "room released"], "held, then released: the compensation"
        page.screenshot(path=tmp_path / "failure-3-payment-down.png", full_page=True)
    print(f"\nscreenshots: {tmp_path}")
