"""Answering on a bad connection, in Chromium with its network cut through the DevTools
protocol: the form's small script (survey_app/static/offline.js) keeps the answers in the
browser, tells the citizen when sending failed, and sends them when the connection
returns; a form sent more than once (the script's retries, a reload) is stored once.
Without JavaScript the form works as before (test_survey_browser.py)."""

from __future__ import annotations

from pathlib import Path

from browser_helpers import (
    By,
    choices,
    click_answers,
    needs_browser,
    required_items,
    stored_response,
    wait,
    wait_for_page,
)
from sqlalchemy import func, select

from survey_app.models import Response

SCRIPT = Path(__file__).parent.parent / "survey_app" / "static" / "offline.js"
LIMIT_BYTES = 5 * 1024


def network(driver, online: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": not online, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": -1})


def responses(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Response.id)))


def answer_all(driver, survey) -> dict:
    answers = {i.code: choices(i)[n % 5][0] for n, i in enumerate(required_items(survey))}
    click_answers(driver, answers)
    return answers


def test_the_script_is_small():
    assert SCRIPT.stat().st_size <= LIMIT_BYTES


@needs_browser
def test_a_form_sent_offline_is_kept_and_sent_when_the_connection_returns(
        survey, live_url, open_browser, db):
    driver = open_browser(width=360)
    driver.get(live_url + survey["path"])
    wait_for_page(driver, "form")
    before = responses(db)
    answers = answer_all(driver, survey)
    network(driver, online=False)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    notice = wait(driver).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "p.st[role=status]").text
        if "mất kết nối" in d.find_element(By.CSS_SELECTOR, "p.st").text else False)
    assert "sẽ tự gửi" in notice
    assert responses(db) == before  # nothing reached the server
    network(driver, online=True)
    receipt = wait_for_page(driver, ".rc").text
    assert "/cam-on/" in driver.current_url
    stored = stored_response(db, receipt)
    assert {c: stored.answer_dict[c] for c in answers} == {c: int(v) for c, v in answers.items()}
    assert responses(db) == before + 1
    assert driver.execute_script("return localStorage.length") == 0  # nothing left behind


@needs_browser
def test_a_form_kept_offline_is_sent_when_the_page_is_opened_again(survey, live_url, open_browser, db):
    driver = open_browser(width=360)
    driver.get(live_url + survey["path"])
    wait_for_page(driver, "form")
    before = responses(db)
    answer_all(driver, survey)
    network(driver, online=False)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(lambda d: "mất kết nối" in d.find_element(By.CSS_SELECTOR, "p.st").text)
    # The tab closed while offline; the citizen opens the form again once back online:
    # the kept form goes out from there, once.
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    second = driver.current_window_handle
    driver.switch_to.window(first)
    driver.close()
    driver.switch_to.window(second)
    assert responses(db) == before
    network(driver, online=True)
    driver.get(live_url + survey["path"])
    receipt = wait_for_page(driver, ".rc").text
    assert responses(db) == before + 1
    assert stored_response(db, receipt).channel == "open"
    assert driver.execute_script("return localStorage.length") == 0


@needs_browser
def test_answers_given_survive_a_reload(survey, live_url, open_browser, db):
    driver = open_browser(width=360)
    driver.get(live_url + survey["path"])
    wait_for_page(driver, "form")
    first, second = required_items(survey)[:2]
    click_answers(driver, {first.code: choices(first)[1][0], second.code: choices(second)[3][0]})
    driver.refresh()
    wait_for_page(driver, "form")
    for item, value in ((first, choices(first)[1][0]), (second, choices(second)[3][0])):
        box = driver.find_element(By.CSS_SELECTOR, f"input[name={item.code}][value='{value}']")
        wait(driver).until(lambda d, b=box: b.is_selected())
