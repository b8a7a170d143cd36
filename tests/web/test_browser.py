"""End to end in Debian's headless Chromium, driven by Playwright, against the real app served by
uvicorn: a clerk enrolls an applicant up to the card preview, the applicant checks the status in
Spanish and in Arabic, and the status page works from the keyboard alone. Every page is checked
with axe-core (no serious or critical violations) and for Content-Security-Policy reports, and
photographed into artifacts/screenshots/."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image, ImageDraw
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import i18n
from enrollment import service as enrollment
from tests.conftest import STAFF_PASSWORD, second_factor_code
from tests.factories import KNOWN_DOB
from tests.web.conftest import CLERK_ACTOR, new_application

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "api" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # A fake camera that needs no permission prompt, for getUserMedia.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PHONE = ViewportSize(width=360, height=740)
DESKTOP = ViewportSize(width=1280, height=900)
SUBRESOURCES = {"stylesheet", "script", "image", "media", "font"}


# --- the browser and the server -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/system-packages --test"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.exists(), "axe-core is missing: run `npm ci` in api/web"
    return AXE.read_text("utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    """The test's app, served for real on a free local port, in a background thread."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Tab:
    """A page in a fresh browser context, that records what the console says."""

    page: Page
    axe_source: str
    console: list[str] = field(default_factory=list)

    def check_accessibility(self) -> None:
        self.page.evaluate(self.axe_source + "\n;true")
        result: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} at "
               f"{[n['target'] for n in v['nodes']][:3]}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{self.page.url}: " + "; ".join(bad)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def page_done(self, name: str) -> None:
        """What every page visited must pass: axe, no CSP report, and a screenshot."""
        self.check_accessibility()
        self.screenshot(name)
        refused = [m for m in self.console if "Content Security Policy" in m]
        assert not refused, refused

    def fits_a_phone(self) -> None:
        self.page.set_viewport_size(PHONE)
        wide: bool = self.page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth")
        assert not wide, f"{self.page.url} scrolls sideways at 360px"


@pytest.fixture
def tab(browser: Browser, base_url: str, axe_source: str) -> Iterator[Tab]:
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="en-US",
                                  permissions=["camera"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    opened = Tab(page, axe_source)

    def listen(message: ConsoleMessage) -> None:
        opened.console.append(f"{message.type}: {message.text}")

    def check_asset(response: Response) -> None:
        if response.request.resource_type in SUBRESOURCES and response.status >= 400:
            opened.console.append(f"failed asset: {response.status} {response.url}")

    page.on("console", listen)
    page.on("pageerror", lambda error: opened.console.append(f"pageerror: {error}"))
    page.on("response", check_asset)
    yield opened
    context.close()
    # Pages answered with 4xx on purpose (sign-in, not found) are logged by Chromium as failed
    # loads; what matters is that every script, style sheet and image loaded.
    errors = [m for m in opened.console if m.startswith(("error", "pageerror", "failed asset"))
              and "Failed to load resource" not in m]
    assert not errors, errors


def _photo_file(tmp_path: Path) -> Path:
    image = Image.new("RGB", (900, 1200), (205, 180, 150))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 250, 650, 750), fill=(150, 110, 90))  # something like a face
    draw.rectangle((150, 800, 750, 1200), fill=(40, 60, 120))
    path = tmp_path / "applicant.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def _sign_in(tab: Tab, username: str) -> None:
    page = tab.page
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    code = second_factor_code(username)
    if code is not None:
        page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()


# --- (a) the clerk enrolls an applicant -----------------------------------------------------


def test_a_clerk_enrolls_an_applicant_up_to_the_card_preview(
        tab: Tab, make_staff: Any, tmp_path: Path) -> None:
    page = tab.page
    username = make_staff("clerk")
    response = page.goto("/clerk")
    assert response is not None and response.status == 401
    tab.page_done("signin")
    _sign_in(tab, username)
    expect(page).to_have_url(tab.page.url.split("/clerk")[0] + "/clerk")
    expect(page.get_by_role("heading", name="Enrollment desk")).to_be_visible()
    tab.page_done("clerk-home")

    page.get_by_role("link", name="New application").first.click()
    page.get_by_label("First name", exact=True).fill("Marisol")
    page.get_by_label("Last name", exact=True).fill("Quintero-Abadi")
    page.get_by_label("Date of birth", exact=True).fill("1991-08-23")
    page.get_by_label("Address line 1").fill("55 Water Street")
    page.get_by_label("City", exact=True).fill("Springfield")
    page.get_by_label("State (2 letters)").fill("NY")
    page.get_by_label("ZIP code", exact=True).fill("11201")
    page.get_by_label("Preferred language (optional)").select_option("es")
    tab.page_done("new-application")
    page.get_by_role("button", name="Start the application").click()

    tally = page.locator("#tally")
    expect(tally).to_contain_text("0 of 4 points")
    expect(tally).to_contain_text("3 more identity points")
    expect(tally).to_contain_text("a document showing a photo")
    tab.page_done("application-new")

    # The passport: only its expiry date is asked, and it always shows a photo.
    page.get_by_label("Document", exact=True).select_option("passport")
    expect(page.get_by_label("Issue date")).to_be_hidden()
    expect(page.get_by_label("It shows the applicant's photo")).to_be_checked()
    expect(page.get_by_label("It shows the applicant's photo")).to_be_disabled()
    page.get_by_label("Expiry date").fill("2031-01-31")
    page.get_by_role("button", name="Add document").click()
    expect(tally).to_contain_text("3 of 4 points")
    expect(tally).not_to_contain_text("identity points")
    expect(tally).to_contain_text("1 more residency point")
    expect(tally).to_be_focused()  # updated in place, and the clerk is taken to it

    page.get_by_label("Document", exact=True).select_option("utility_bill")
    expect(page.get_by_label("Expiry date")).to_be_hidden()
    expect(page.get_by_label("It shows the applicant's photo")).to_be_disabled()
    page.get_by_label("Issue date").fill(time.strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Add document").click()
    expect(tally).to_contain_text("The documents satisfy the rulebook.")
    expect(tally).to_contain_text("4 of 4 points")
    tab.page_done("application-documents")

    page.get_by_label("Or choose a photo file").set_input_files(_photo_file(tmp_path))
    expect(page.get_by_role("img", name="The photo about to be saved")).to_be_visible()
    page.get_by_role("button", name="Save photo").click()
    expect(page.locator("#photo-state")).to_contain_text("A photo is on file")

    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Start the review").click()
    expect(page.locator("#application-status")).to_have_text("In review")
    tab.page_done("application-decision")
    page.get_by_role("button", name="Approve and issue the card").click()
    expect(page.locator("#application-status")).to_have_text("Card issued")

    for side in ("front", "back"):
        image = page.locator(f"#card-{side}")
        expect(image).to_be_visible()
        page.wait_for_function(f"() => document.querySelector('#card-{side}').naturalWidth > 0")
        image.screenshot(path=SCREENSHOTS / f"card-{side}.png")
    assert page.locator("#card-front").evaluate("img => img.naturalWidth") > 900
    pdf = page.request.get(page.get_by_role("link", name="Print the card (PDF)")
                           .get_attribute("href") or "")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    tab.page_done("application-card")
    tab.fits_a_phone()
    tab.screenshot("application-card-phone")


def test_the_photo_can_come_from_the_webcam(tab: Tab, make_staff: Any,
                                            runtime: Runtime) -> None:
    page = tab.page
    reference = new_application(runtime, documents=True)
    page.goto(f"/clerk/applications/{reference}")
    _sign_in(tab, make_staff("clerk"))
    page.get_by_role("button", name="Start camera").click()
    take = page.get_by_role("button", name="Take photo")
    expect(take).to_be_enabled()
    page.wait_for_function("() => document.querySelector('#camera-video').videoWidth > 0")
    take.click()
    expect(page.get_by_role("img", name="The photo about to be saved")).to_be_visible()
    page.get_by_role("button", name="Save photo").click()
    expect(page.locator("#photo-state")).to_contain_text("A photo is on file")
    tab.page_done("application-webcam-photo")


# --- (b) the applicant checks the status ----------------------------------------------------


def _check_status(tab: Tab, reference: str) -> None:
    page, t = tab.page, tab.page.locator("form[action='/status']")
    t.locator("#reference").fill(reference)
    t.locator("#dob_month").fill(str(KNOWN_DOB.month))
    t.locator("#dob_day").fill(str(KNOWN_DOB.day))
    t.locator("#dob_year").fill(str(KNOWN_DOB.year))
    t.locator("button[type=submit]").click()
    expect(page.locator(".result")).to_be_visible()


def test_the_applicant_checks_the_status_in_spanish_and_arabic(tab: Tab,
                                                               runtime: Runtime) -> None:
    page = tab.page
    reference = new_application(runtime, documents=True, photo=True)
    with unit_of_work(runtime.sessions) as session:
        enrollment.advance(session, desk=runtime.enrollment, actor=CLERK_ACTOR,
                           reference=reference, step="submit")
    page.goto("/status")
    tab.page_done("status-en")

    page.get_by_role("link", name="español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Consulte el estado de su solicitud")
    tab.page_done("status-es")
    _check_status(tab, reference)
    label, next_step = i18n.status_message("submitted", "es")
    expect(page.locator(".status-label")).to_have_text(label)
    expect(page.locator(".next-step")).to_have_text(next_step)
    address = urlsplit(page.url)
    assert (address.path, address.query) == ("/status", "")  # nothing personal in the URL
    tab.page_done("status-es-result")

    page.get_by_role("link", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("تحقق من حالة طلبك")
    # Right to left: the form's labels start at the right-hand edge.
    label_box = page.locator("label[for=reference]").bounding_box()
    input_box = page.locator("#reference").bounding_box()
    assert label_box and input_box
    assert abs((label_box["x"] + label_box["width"]) - (input_box["x"] + input_box["width"])) < 2
    tab.page_done("status-ar")
    _check_status(tab, reference)
    label, next_step = i18n.status_message("submitted", "ar")
    expect(page.locator(".status-label")).to_have_text(label)
    expect(page.locator(".next-step")).to_have_text(next_step)
    tab.page_done("status-ar-result")
    tab.fits_a_phone()
    tab.screenshot("status-ar-result-phone")

    page.get_by_role("link", name="تحقق من طلب آخر").click()
    page.locator("#reference").fill("7KQ2-M9XD-4TRB")
    page.locator("#dob_month").fill("1")
    page.locator("#dob_day").fill("2")
    page.locator("#dob_year").fill("1990")
    page.locator("button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text(i18n.not_found_message("ar"))
    expect(page.locator("#reference")).to_have_value("7KQ2-M9XD-4TRB")
    tab.page_done("status-ar-not-found")


# --- (c) the status page from the keyboard alone --------------------------------------------


def _focused(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {tag: el.tagName.toLowerCase(), id: el.id, text: el.textContent.trim(),
                inLanguages: Boolean(el.closest('nav.languages')),
                outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                shadow: style.boxShadow};
    }""")
    return info


def _assert_focus_visible(info: dict[str, Any]) -> None:
    assert info["outline"] != "none" and info["outlineWidth"] >= 2, info
    assert info["shadow"] != "none", info


def test_the_status_page_works_from_the_keyboard_alone(tab: Tab, runtime: Runtime) -> None:
    page = tab.page
    reference = new_application(runtime)
    page.goto("/status?lang=en")
    keyboard = page.keyboard

    keyboard.press("Tab")
    skip = _focused(page)
    assert skip["text"] == "Skip to main content"
    _assert_focus_visible(skip)
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # type: ignore[index]
    keyboard.press("Tab")
    assert _focused(page)["text"] == "City ID"
    for language in i18n.SUPPORTED:
        keyboard.press("Tab")
        focused = _focused(page)
        assert focused["inLanguages"], focused
        assert focused["text"] == i18n.language_name(language)
        _assert_focus_visible(focused)
    for field_id, typed in (("reference", reference), ("dob_month", str(KNOWN_DOB.month)),
                            ("dob_day", str(KNOWN_DOB.day)), ("dob_year", str(KNOWN_DOB.year))):
        keyboard.press("Tab")
        focused = _focused(page)
        assert focused["id"] == field_id, focused
        _assert_focus_visible(focused)
        keyboard.type(typed)
    keyboard.press("Tab")
    button = _focused(page)
    assert button["tag"] == "button" and button["text"] == "Check status"
    _assert_focus_visible(button)
    tab.screenshot("status-keyboard-focus")
    keyboard.press("Enter")
    expect(page.locator(".status-label")).to_have_text(i18n.status_message("draft", "en")[0])
    tab.page_done("status-keyboard-result")

    # The skip link takes the keyboard past the header, to the form.
    page.goto("/status?lang=en")
    keyboard.press("Tab")
    keyboard.press("Enter")
    keyboard.press("Tab")
    assert _focused(page)["id"] == "reference"
    # Enter in a field sends the form too; an empty form is answered with the problem.
    keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Enter your application reference number.")
    expect(page.locator("#reference")).to_have_attribute("aria-invalid", "true")


def test_the_accessibility_check_would_catch_a_field_without_a_label(tab: Tab) -> None:
    """The check above can fail: the status page with one label taken away does not pass."""
    tab.page.goto("/status?lang=en")
    tab.check_accessibility()
    tab.page.locator("label[for=reference]").evaluate("label => label.remove()")
    tab.page.locator("#reference").evaluate("input => input.removeAttribute('aria-describedby')")
    with pytest.raises(AssertionError, match="label"):
        tab.check_accessibility()
