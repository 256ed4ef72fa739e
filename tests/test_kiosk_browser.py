"""A counter tablet in Chromium: enrolled through its link, it returns to an empty form
after each citizen, and neither the browser's storage, the form nor the back button keeps
anything of the previous citizen (survey_app/static/offline.js in kiosk mode)."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    By,
    choices,
    click_answers,
    needs_browser,
    required_items,
    stored_response,
    submit_and_get_receipt,
    wait,
    wait_for_page,
)

pytestmark = pytest.mark.parametrize("app", [{"KIOSK_RETURN_SECONDS": 2}], indirect=True)


def _checked(driver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "form input:checked"))


@needs_browser
def test_the_tablet_returns_to_an_empty_form_and_keeps_nothing(survey, live_url, open_browser,
                                                               runner, db):
    result = runner.invoke(args=["kiosk-add", "--agency", "X-SONDUONG", "Quầy 1"])
    assert result.exit_code == 0, result.output
    enrol = re.search(r"http://localhost(/kiosk/dang-ky/\S+)", result.output).group(1)
    driver = open_browser(width=800)
    driver.get(live_url + enrol)
    wait_for_page(driver, "form button").click()
    wait_for_page(driver, "form[data-kiosk]")

    # A citizen who walks away half-way leaves nothing for the next one.
    items = required_items(survey)
    click_answers(driver, {items[0].code: choices(items[0])[0][0]})
    assert driver.execute_script("return localStorage.length") == 0
    driver.refresh()
    wait_for_page(driver, "form[data-kiosk]")
    assert _checked(driver) == 0

    answers = {i.code: choices(i)[n % 5][0] for n, i in enumerate(items)}
    click_answers(driver, answers)
    receipt = submit_and_get_receipt(driver)
    assert stored_response(db, receipt).channel == "kiosk"
    assert driver.execute_script("return localStorage.length") == 0
    # By itself, a fresh empty form, and the thank-you page is no longer in the history.
    wait(driver).until(lambda d: d.current_url.endswith("/kiosk")
                       and d.find_elements(By.CSS_SELECTOR, "form[data-kiosk]"))
    wait_for_page(driver, "form[data-kiosk]")
    assert _checked(driver) == 0 and receipt not in driver.page_source
    assert driver.execute_script("return localStorage.length") == 0
    driver.back()
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert receipt not in driver.page_source and _checked(driver) == 0
