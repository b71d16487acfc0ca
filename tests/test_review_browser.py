"""The web inbox in headless Chromium (Debian's package, driven by playwright; no browser download):
`pv local up` runs as a user would start it, the test finds the inbox through
.artifacts/local/stack.json, sorts by due date, opens a case with the keyboard, confirms it and
sees the audit entry. Screenshots go to .artifacts/browser/."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import endpoint_double
import pytest
from local_up import WATCHED
from local_up import local_up as running_local_up
from pv_local.stack import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / ".artifacts" / "browser"
SAMPLES = PROJECT_ROOT / "events" / "documents"
DOCUMENTS = [
    "email/ae_hospitalisation.eml",
    "email/latin1_ae.eml",
    "call/text_ae.txt",
    "call/speaker_labels_ae.json",
    "social/feed_2025-03-08.jsonl",
    "email/product_question.eml",
]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _api(stack: dict[str, Any], path: str, role: str = "reviewer") -> Any:
    request = urllib.request.Request(
        stack["review_url"] + path, headers={"Authorization": f"Bearer {stack['tokens'][role]}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`pv local up --watch DIR` in its own folder, until every case of DOCUMENTS is listed."""
    double = endpoint_double.EndpointDouble()
    server, url = endpoint_double.start(double)
    work = tmp_path_factory.mktemp("local-up")
    for key in DOCUMENTS:
        (work / WATCHED / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / key, work / WATCHED / key)
    try:
        with running_local_up(work, url) as up:
            listed = [-1]

            def settled() -> bool:  # the same count twice in a row, and at least 5
                count = len(_api(up.stack, "cases")["cases"])
                done, listed[0] = count == listed[0] and count >= 5, count
                return done

            up.until(settled, timeout_s=300)
            yield up.stack
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


def _until(condition: Any, timeout_s: float = 120.0) -> None:
    """Poll in Python: the page's Content-Security-Policy refuses playwright's string predicates."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there"
        time.sleep(0.1)


def test_a_reviewer_sorts_the_inbox_opens_a_case_confirms_it_and_sees_the_audit_entry(
    local_up, browser
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(local_up["inbox_url"])
    rows = page.locator("#rows tr[data-case-id]")
    rows.first.wait_for()
    listed = _api(local_up, "cases?status=new,incomplete,in_review,needs_follow_up,confirmed")["cases"]
    assert rows.count() == len(listed) >= 5
    assert "local-reviewer" in page.inner_text("#who")
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    def due_dates() -> list[str]:
        return [text.split()[0] for text in page.locator("#rows tr td:first-child").all_inner_texts()]

    assert due_dates() == sorted(due_dates())
    page.click("#sort-due")
    _until(
        lambda: (
            page.get_attribute("#due-header", "aria-sort") == "descending"
            and due_dates()[0] > due_dates()[-1]
        )
    )
    assert due_dates() == sorted(due_dates(), reverse=True)
    page.click("#sort-due")
    _until(
        lambda: (
            page.get_attribute("#due-header", "aria-sort") == "ascending" and due_dates()[0] < due_dates()[-1]
        )
    )
    assert due_dates() == sorted(due_dates())
    assert page.locator("#rows tr.overdue .overdue-badge").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "inbox-sorted.png"))

    # keyboard: Tab into the list, arrow to a row, Enter opens it
    rows.first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    case_id = rows.nth(1).get_attribute("data-case-id")
    page.locator("#case h2", has_text=case_id).wait_for()
    assert page.locator("#case .source .flagged").count() >= 1
    assert page.locator("#case .source .drug").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "case.png"))

    if page.locator("#start-review").count():
        page.click("#start-review")
        page.locator("#case-message", has_text="Review started").wait_for()
    page.check("#decision-form input[value=confirmed]")
    page.fill("#decision-form textarea[name=reason]", "Drug, event and reporter verified against the source.")
    page.click("#submit-decision")
    page.locator("#audit li", has_text="Decision: confirmed").wait_for()
    _until(lambda: "Loading" not in page.inner_text("#list-message"))
    page.screenshot(path=str(SCREENSHOTS / "confirmed.png"), full_page=True)

    view = _api(local_up, f"cases/{case_id}")
    trail = _api(local_up, f"cases/{case_id}/audit")["records"]
    assert view["status"] == "confirmed"
    assert trail[-1]["decision"] == "confirmed" and trail[-1]["actor"]["username"] == "local-reviewer"
    assert errors == []


def test_a_viewer_sees_the_redacted_case_without_decision_controls(local_up, browser) -> None:
    page = browser.new_page()
    review_url = local_up["review_url"]
    page.goto(f"{review_url}#token={local_up['tokens']['viewer']}")
    page.locator("#rows tr[data-case-id]").first.wait_for()
    hospitalised = next(c for c in _api(local_up, "cases")["cases"] if "warfarin" in c["suspect_drugs"])
    page.click(f"#rows tr[data-case-id={hospitalised['case_id']}]")
    page.locator("#case .source").wait_for()
    text = page.inner_text("#case")
    assert "Margaret Marchetti" not in text and "[NAME]" in text
    assert page.locator("#decision-form").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "viewer.png"))


def test_pv_local_up_answers_a_stale_version_with_409_and_a_viewer_without_personal_data(local_up) -> None:
    """The bars, driven through stack.json alone: 409 on a stale version (nothing changes), and
    a viewer's case view carries none of the sample's personal data."""
    import urllib.error

    hospitalised = next(c for c in _api(local_up, "cases")["cases"] if "warfarin" in c["suspect_drugs"])
    path = f"cases/{hospitalised['case_id']}"
    before = _api(local_up, path)
    body = {"decision": "not_ae", "reason": "stale", "expected_version": before["version"] + 1}
    request = urllib.request.Request(
        local_up["review_url"] + path + "/decision",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {local_up['tokens']['reviewer']}",
            "Content-Type": "application/json",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 409
    assert _api(local_up, path) == before
    manifest = json.loads((SAMPLES / "MANIFEST.json").read_text())["documents"]
    seen = json.dumps(_api(local_up, path, "viewer"))
    assert [p for p in manifest["email/ae_hospitalisation.eml"]["personal_data"] if p in seen] == []
