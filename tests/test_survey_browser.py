"""The citizen's survey page in a real browser: Debian's headless Chromium, driven through
selenium, against the application served from a thread on the test's database.

It checks what markup tests cannot: the page at 320 px wide with large touch targets and
no web fonts, answering with JavaScript off, with the keyboard alone, what a screen reader
is given (Chromium's accessibility tree) and the colour contrast. Skips when Chromium,
its driver or selenium is not installed.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    MIN_CONTRAST,
    NARROW_PX,
    PAGE_BUDGET_BYTES,
    TARGET_PX,
    By,
    Keys,
    choices,
    click_answers,
    horizontal_overflow,
    needs_browser,
    required_items,
    stored_response,
    submit_and_get_receipt,
    wait_for_page,
)

from survey_app.questions import REQUIRED_MESSAGE

# -- contrast ------------------------------------------------------------------------------

def relative_luminance(rgb) -> float:
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg, bg) -> float:
    hi, lo = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def parse_css_color(text: str) -> tuple[float, float, float, float]:
    m = re.fullmatch(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", text.strip())
    assert m, f"cannot read the colour {text!r}"
    r, g, b, a = m.groups()
    return float(r), float(g), float(b), float(a) if a is not None else 1.0


def over(top, bottom):
    """`top` (with its alpha) painted over the opaque colour `bottom`."""
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3)) + (1.0,)


def text_colours(driver) -> list[dict]:
    """Every visible element with text of its own: its colour, the background colours from
    it up to the root, the opacity it is painted with, and whether a background image
    (which would make the contrast unknowable here) lies under it."""
    return driver.execute_script("""
        const out = [];
        for (const e of document.body.querySelectorAll('*')) {
            const own = [...e.childNodes].some(n => n.nodeType === 3 && n.data.trim());
            const r = e.getBoundingClientRect();
            const s = getComputedStyle(e);
            if (!own || r.width === 0 || r.height === 0 || r.right <= 0
                || s.visibility !== 'visible') continue;
            const layers = [];
            let opacity = 1, image = false;
            for (let a = e; a; a = a.parentElement) {
                const st = getComputedStyle(a);
                layers.push(st.backgroundColor);
                opacity *= parseFloat(st.opacity);
                image = image || st.backgroundImage !== 'none';
            }
            out.push({what: e.tagName + (e.className ? '.' + e.className : '') + ' "'
                            + e.textContent.trim().slice(0, 30) + '"',
                      tag: e.tagName, cls: e.className, color: s.color, layers: layers,
                      opacity: opacity, image: image});
        }
        return out;
    """)


def contrast_failures(driver) -> tuple[list[str], list[dict]]:
    white = (255.0, 255.0, 255.0, 1.0)  # the canvas under a transparent page
    failures, elements = [], text_colours(driver)
    for el in elements:
        if el["image"]:
            failures.append(f"{el['what']}: text over a background image")
            continue
        bg = white
        for layer in reversed(el["layers"]):  # from the root down to the element
            bg = over(parse_css_color(layer), bg)
        fg = over(parse_css_color(el["color"]), bg)
        fg = over(fg[:3] + (el["opacity"],), bg)
        ratio = contrast_ratio(fg, bg)
        if ratio < MIN_CONTRAST:
            failures.append(f"{el['what']}: {ratio:.2f}:1 ({el['color']} on {bg[:3]})")
    return failures, elements


def test_contrast_ratio_is_wcag():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast_ratio((255, 255, 255), (255, 255, 255)) == pytest.approx(1)
    # the usual reference pair: #767676 just passes 4.5:1 on white, #777777 just fails
    assert contrast_ratio((0x76,) * 3, (255,) * 3) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio((0x77,) * 3, (255,) * 3) < MIN_CONTRAST
    assert over((0, 0, 0, 0.5), (255, 255, 255, 1)) == (127.5, 127.5, 127.5, 1.0)


# -- the tests -----------------------------------------------------------------------------

@needs_browser
def test_phone_width_targets_fonts_and_weight(survey, live_url, open_browser):
    driver = open_browser(width=NARROW_PX)
    driver.get(live_url + survey["path"])

    layout = horizontal_overflow(driver)
    assert layout["viewport"] == NARROW_PX  # the phone emulation is in force
    assert layout["scroll"] <= layout["viewport"], layout

    targets = driver.execute_script("""
        return [...document.querySelectorAll('input[type=radio], input[type=checkbox]')]
            .map(i => {
                const l = i.closest('label'), r = (l || i).getBoundingClientRect();
                return {name: i.name, value: i.value, in_label: !!l,
                        width: r.width, height: r.height};
            });
    """)
    expected = sum(len(choices(i)) for i in survey["items"] if i.type != "text") + 1  # + consent
    assert len(targets) == expected
    small = [t for t in targets
             if not t["in_label"] or t["width"] < TARGET_PX or t["height"] < TARGET_PX]
    assert not small, small[:5]
    controls = driver.execute_script("""
        return [...document.querySelectorAll('form button, form textarea, form input[type=tel]')]
            .map(e => [e.tagName + ' ' + (e.name || e.textContent),
                       e.getBoundingClientRect().width, e.getBoundingClientRect().height]);
    """)
    assert len(controls) == 3
    assert all(w >= TARGET_PX and h >= TARGET_PX for _, w, h in controls), controls

    # No web font: nothing but the page and its stylesheet is fetched, no font face is used.
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; document.fonts.ready.then(() => done());")
    faces = driver.execute_script(
        "return [...document.fonts].map(f => f.family + ' ' + f.status);")
    assert faces == []
    fetched = driver.execute_script("""
        return performance.getEntriesByType('navigation')
            .concat(performance.getEntriesByType('resource'))
            .map(e => ({name: e.name, type: e.initiatorType, bytes: e.transferSize}));
    """)
    stylesheets = driver.execute_script(
        "return [...document.querySelectorAll('link[rel=stylesheet], script[src]')]"
        ".map(l => l.href || l.src);")
    # Chromium asks for /favicon.ico on its own (not the page's doing, and not always in
    # time to be listed here): left out.
    fetched = [e for e in fetched if not e["name"].endswith("/favicon.ico")]
    assert [e["name"] for e in fetched] == [driver.current_url, *stylesheets], fetched
    # Fresh profile, no cache: each entry really came over the wire, headers included.
    assert all(e["bytes"] > 0 for e in fetched), fetched
    total = sum(e["bytes"] for e in fetched)
    assert total < PAGE_BUDGET_BYTES, fetched


@needs_browser
def test_answering_without_javascript(survey, live_url, open_browser, db):
    driver = open_browser(javascript=False, width=NARROW_PX)
    # The blocking is in force: a <noscript> block is rendered only when scripts are off.
    driver.get("data:text/html,<noscript><p id=off>off</p></noscript>")
    assert driver.find_elements(By.ID, "off")

    driver.get(live_url + survey["path"])
    required = required_items(survey)
    # Spread the answers over every choice, "not applicable" included.
    answers = {item.code: choices(item)[n % len(choices(item))][0]
               for n, item in enumerate(required)}
    click_answers(driver, answers)
    multi = next(i for i in survey["items"] if i.type == "multiple_choice")
    picked = [choices(multi)[0][0], choices(multi)[-1][0]]
    click_answers(driver, {multi.code: picked[0]})
    click_answers(driver, {multi.code: picked[1]})
    text = next(i for i in survey["items"] if i.type == "text")
    comment = "Cán bộ hướng dẫn tận tình, chờ hơi lâu."
    driver.find_element(By.ID, text.code).send_keys(comment)
    receipt = submit_and_get_receipt(driver)
    layout = horizontal_overflow(driver)
    assert layout["scroll"] <= layout["viewport"], layout
    failures, _ = contrast_failures(driver)
    assert not failures, failures

    stored = stored_response(db, receipt)
    assert stored.channel == "open"
    expected = {code: int(value) for code, value in answers.items()}
    expected.update({multi.code: picked, text.code: comment})
    assert stored.answer_dict == expected

    # The receipt check page, itself a plain GET form.
    driver.get(live_url + "/bien-nhan")
    box = driver.find_element(By.ID, "code")
    box.send_keys(receipt.lower())
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_page(driver, "main ul")  # only the page of a found receipt has the list
    page = driver.find_element(By.TAG_NAME, "main").text
    assert f"Phiếu {receipt} đã được ghi nhận và được tính" in page
    assert survey["agency"] in page and comment not in page
    failures, _ = contrast_failures(driver)
    assert not failures, failures


def focused(driver) -> dict:
    return driver.execute_script("""
        const e = document.activeElement, r = e.getBoundingClientRect();
        const ring = [e, e.closest('label')].filter(Boolean)
            .some(x => getComputedStyle(x).outlineStyle !== 'none');
        return {tag: e.tagName, type: e.type || '', name: e.name || '', value: e.value || '',
                checked: !!e.checked, ring: ring,
                on_screen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                           && r.top < innerHeight && r.left < innerWidth};
    """)


@needs_browser
def test_answering_with_the_keyboard_alone(survey, live_url, open_browser, db):
    driver = open_browser()
    driver.get(live_url + survey["path"])
    visited = []

    def press(*keys) -> dict:
        for key in keys:
            driver.switch_to.active_element.send_keys(key)
        now = focused(driver)
        visited.append(now)
        return now

    def tab_to(name: str) -> dict:
        for _ in range(80):
            now = press(Keys.TAB)
            if now["name"] == name:
                return now
        raise AssertionError(f"Tab never reached {name}: {visited[-5:]}")

    required = required_items(survey)
    answers = {}
    for n, item in enumerate(required):
        now = tab_to(item.code)
        values = [v for v, _ in choices(item)]
        # The first answer is focused when nothing is chosen yet; Space takes it, each
        # arrow key moves to (and takes) the next one.
        assert now["value"] == values[0] and not now["checked"], now
        steps = n % 5
        now = press(Keys.SPACE) if steps == 0 else press(*[Keys.ARROW_DOWN] * steps)
        assert now["checked"] and now["value"] == values[steps], now
        answers[item.code] = values[steps]
    multi = next(i for i in survey["items"] if i.type == "multiple_choice")
    tab_to(multi.code)
    now = press(Keys.SPACE)
    assert now["checked"], now
    text = next(i for i in survey["items"] if i.type == "text")
    tab_to(text.code)
    comment = "Gửi bằng bàn phím"
    press(comment)
    for _ in range(20):
        if press(Keys.TAB)["tag"] == "BUTTON":
            break
    else:
        raise AssertionError(f"Tab never reached the submit button: {visited[-5:]}")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    receipt = wait_for_page(driver, ".rc").text

    # Focus was always somewhere visible, with a focus ring, and never in the hidden
    # honeypot field (which would mark a keyboard user's answers as a bot's).
    assert all(v["on_screen"] for v in visited), [v for v in visited if not v["on_screen"]]
    assert all(v["ring"] for v in visited), [v for v in visited if not v["ring"]]
    assert "website" not in {v["name"] for v in visited}

    stored = stored_response(db, receipt)
    expected = {code: int(value) for code, value in answers.items()}
    expected.update({multi.code: [choices(multi)[0][0]], text.code: comment})
    assert stored.answer_dict == expected


def ax_tree(driver) -> dict[str, dict]:
    """Chromium's accessibility tree (what a screen reader is given), by node id."""
    driver.execute_cdp_cmd("Accessibility.enable", {})
    nodes = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]
    return {n["nodeId"]: n for n in nodes}


def role(node) -> str:
    return (node.get("role") or {}).get("value", "")


def name(node) -> str:
    return (node.get("name") or {}).get("value", "")


def prop(node, key):
    for p in node.get("properties", []):
        if p["name"] == key:
            return p["value"].get("value")
    return None


GROUPS = ("group", "radiogroup")  # a <fieldset>, and one for a single answer


def controls_by_group(tree) -> dict[str, tuple[dict | None, list[dict]]]:
    """Each radio button and checkbox under the nearest group around it, by group name."""
    groups: dict[str, tuple[dict | None, list[dict]]] = {}
    for node in tree.values():
        if node.get("ignored") or role(node) not in ("radio", "checkbox"):
            continue
        up = tree.get(node.get("parentId"))
        while up is not None and role(up) not in GROUPS:
            up = tree.get(up.get("parentId"))
        groups.setdefault(name(up) if up else "", (up, []))[1].append(node)
    return groups


def group_for(groups, item) -> tuple[dict, list[dict]]:
    found = [found for g, found in groups.items() if item.text_vi in g]
    assert len(found) == 1, (item.code, list(groups)[:3])
    return found[0]


def description(node) -> str:
    return (node.get("description") or {}).get("value", "")


@needs_browser
def test_screen_reader_sees_questions_answers_and_errors(survey, live_url, open_browser):
    driver = open_browser()
    driver.get(live_url + survey["path"])
    groups = controls_by_group(ax_tree(driver))
    assert "" not in groups, "controls outside any group"
    unnamed = [n for _, nodes in groups.values() for n in nodes if not name(n).strip()]
    assert not unnamed

    for item in survey["items"]:
        if item.type == "text":
            continue
        group, nodes = group_for(groups, item)
        assert name(group).startswith(f"{item.code}. {item.text_vi}" if item.type == "satisfaction"
                                      else item.text_vi), (item.code, name(group))
        # Each answer is named by its own label, in the questionnaire's order.
        assert [name(n) for n in nodes] == [
            (f"{v} {label}" if item.type == "satisfaction" and v != "0" else label)
            for v, label in choices(item)], item.code
        # Single-answer questions are radio groups that say whether they are required
        # (aria-required belongs to the group; `required` on radio buttons is not exposed
        # and would mark every unanswered button invalid before anything is submitted).
        if item.type != "multiple_choice":
            assert role(group) == "radiogroup", item.code
            assert bool(prop(group, "required")) is item.required, item.code
        assert all(prop(n, "invalid") in (None, "false") for n in nodes), item.code

    # Submit with one required question left out: the error is announced, and it is
    # the description of that question's group, inside it.
    required = required_items(survey)
    left_out = required[len(required) // 2]
    click_answers(driver, {i.code: choices(i)[0][0] for i in required if i is not left_out})
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_page(driver, "fieldset.bad")
    tree = ax_tree(driver)
    alerts = [n for n in tree.values() if role(n) == "alert" and not n.get("ignored")]
    assert len(alerts) == 1
    groups = controls_by_group(tree)
    group, _ = group_for(groups, left_out)
    assert description(group) == REQUIRED_MESSAGE["vi"]
    others = [name(g) for g, _ in groups.values() if g is not group and description(g)]
    assert others == []
    beside = driver.execute_script("""
        const fs = document.getElementById(arguments[0]);
        const e = document.getElementById(fs.getAttribute('aria-describedby'));
        return e && fs.contains(e) && e.getBoundingClientRect().height > 0;
    """, f"q-{left_out.code}")
    assert beside
    # The answers given are kept, and a screen reader hears them as chosen.
    for item in required:
        if item is not left_out:
            _, nodes = group_for(groups, item)
            assert [prop(n, "checked") for n in nodes][0] == "true", item.code


@needs_browser
def test_text_contrast_on_the_page_with_errors(survey, live_url, open_browser):
    driver = open_browser(width=NARROW_PX)
    driver.get(live_url + survey["path"])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_page(driver, "fieldset.bad .err")
    failures, checked = contrast_failures(driver)
    assert not failures, failures
    # It measured the texts that matter: body text, questions, answers, button, errors.
    tags = {e["tag"] for e in checked}
    assert {"P", "LEGEND", "LABEL", "BUTTON", "H1", "H2", "A"} <= tags, tags
    assert any("err" in e["cls"] for e in checked)
