"""What the browser tests share: Debian's headless Chromium driven through selenium
against the application served from a thread on the test's database, and helpers to
answer the survey page as a person does. The tests skip when Chromium, its driver or
selenium is not installed."""

from __future__ import annotations

import os
import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey_app.models import CampaignAgency, Response
from survey_app.questions import get_type
from survey_app.survey_form import spec

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys  # noqa: F401  (for the tests)
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the `test` extra is not installed
    webdriver = None

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Generous: the test machine has two cores shared with other work.
WAIT_S = 60
# The machine has no network: nothing may try to reach one, and each browser starts clean.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
BLOCK_JAVASCRIPT = {"profile.managed_default_content_settings.javascript": 2}
NARROW_PX = 320
# The smallest touch target (WCAG 2.5.5); survey.css gives every answer label min-height 44px.
TARGET_PX = 44
PAGE_BUDGET_BYTES = 30 * 1024  # docs/operator.md's budget for the page and its stylesheet
MIN_CONTRAST = 4.5  # WCAG 1.4.3, applied to all text, large or not
RECEIPT = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")

if webdriver is None:
    MISSING = "selenium not installed: pip install -e '.[test]'"
elif not all(os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER)):
    MISSING = "chromium not installed: apt-get install chromium chromium-driver"
else:
    MISSING = ""
# Marks the tests that need the browser; they skip before building any database.
needs_browser = pytest.mark.skipif(bool(MISSING), reason=MISSING)


# -- set-up --------------------------------------------------------------------------------

@pytest.fixture
def live_url(demo):
    """The application served over real HTTP, from a thread, on the test's database."""
    server = make_server("127.0.0.1", 0, demo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(WAIT_S)
    server.server_close()


@pytest.fixture
def open_browser(live_url, tmp_path):
    """open_browser(javascript=True, width=None) -> a fresh headless Chromium; with a width,
    it behaves as a phone of that many CSS pixels (the page's viewport meta applies)."""
    drivers = []

    def _open(javascript: bool = True, width: int | None = None):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / f'chromium-{len(drivers)}'}")
        if not javascript:
            options.add_experimental_option("prefs", BLOCK_JAVASCRIPT)
        # An explicit driver path: selenium then never looks for (or downloads) one.
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        drivers.append(driver)
        driver.set_page_load_timeout(WAIT_S)
        driver.set_script_timeout(WAIT_S)
        if width:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": 640, "deviceScaleFactor": 2, "mobile": True})
        return driver

    yield _open
    for driver in drivers:
        driver.quit()


@pytest.fixture
def survey(demo, db):
    """The open link of X-SONDUONG, and its questionnaire as the page is built from."""
    scope = db.session.scalar(select(CampaignAgency).join(CampaignAgency.agency)
                              .where(CampaignAgency.agency.has(code="X-SONDUONG")))
    version = spec(scope.campaign.version_id)
    return {"path": f"/k/{scope.open_code}", "agency": scope.agency.name,
            "items": list(version.items)}


def choices(item) -> list[tuple[str, str]]:
    return get_type(item.type).choices(item, "vi")


def required_items(survey) -> list:
    items = [i for i in survey["items"] if i.required]
    assert items, "the questionnaire has no required item to test with"
    return items


def wait(driver):
    return WebDriverWait(driver, WAIT_S)


def wait_for_page(driver, css: str):
    """Wait until the page that follows a click shows `css` and has loaded its stylesheet."""
    found = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return found


def label_of(driver, code: str, value: str):
    return driver.find_element(By.XPATH, f"//fieldset[@id='q-{code}']"
                                         f"//label[input[@value='{value}']]")


def click_answers(driver, answers: dict[str, str]) -> None:
    """Answer by clicking each answer's label, as a finger on a phone does."""
    for code, value in answers.items():
        label = label_of(driver, code, value)
        label.click()
        assert label.find_element(By.TAG_NAME, "input").is_selected(), (code, value)


def submit_and_get_receipt(driver) -> str:
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    code = wait_for_page(driver, ".rc").text
    assert "/cam-on/" in driver.current_url
    assert RECEIPT.match(code), code
    return code


def stored_response(db, receipt: str) -> Response:
    db.session.expire_all()
    return db.session.scalars(select(Response).filter_by(receipt_code=receipt)).one()


def horizontal_overflow(driver) -> dict:
    """The viewport width, the document's scroll width and what sticks out to the right."""
    return driver.execute_script("""
        const d = document.documentElement, vw = d.clientWidth;
        const wide = [...document.body.querySelectorAll('*')]
            .filter(e => e.getBoundingClientRect().right > vw + 0.5)
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.className);
        return {viewport: vw, scroll: Math.max(d.scrollWidth, document.body.scrollWidth),
                wide: wide.slice(0, 10)};
    """)
