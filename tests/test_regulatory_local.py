"""The regulatory bars on the local stack, as a user meets them: `pv local up --meddra DIR` with a
MedDRA release in the real file format and invented content, emails dropped into the watched
folder, everything else through .artifacts/local/stack.json: the cases confirmed and the follow-up
linked through the review API, `pv case export-e2b` read back by e2br3; then the inbox in headless
Chromium: a reaction's term picked and a link decided, side by side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import e2br3
import endpoint_double
import pytest
from local_up import LocalUp, local_up
from meddra_release import DEFAULT_TERMS, InventedRelease, InventedTerm, write_release
from pv_local.cli import main
from test_review_browser import SCREENSHOTS, _until, browser  # noqa: F401  (the browser fixture)

FIRST = b"""From: Rosa Flint <rosa.flint@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Rash on amoxicillin
Date: Mon, 03 Mar 2025 09:00:00 +0000
Message-ID: <first-4471@mail.example.com>
Content-Type: text/plain; charset="utf-8"

I'm 34. Two days after starting amoxicillin I came out in a rash all over my arms and
was admitted to hospital overnight.
"""
REPLY = b"""From: Rosa Flint <rosa.flint@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Re: Rash on amoxicillin
Date: Wed, 05 Mar 2025 10:30:00 +0000
Message-ID: <reply-9120@mail.example.com>
In-Reply-To: <first-4471@mail.example.com>
References: <first-4471@mail.example.com>
Content-Type: text/plain; charset="utf-8"

Since the amoxicillin I have also been vomiting every morning.

On Mon, 3 Mar 2025 at 09:00, Rosa Flint wrote:
> Two days after starting amoxicillin I came out in a rash all over my arms.
"""
# A second thread, for the inbox: its reply reports a reaction the dictionary has no word for.
OTHER = b"""From: Tom Reed <tom.reed@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Sertraline headaches
Date: Thu, 06 Mar 2025 08:15:00 +0000
Message-ID: <b-5512@mail.example.com>
Content-Type: text/plain; charset="utf-8"

I have been getting bad headaches since I started sertraline last week.
"""
OTHER_REPLY = b"""From: Tom Reed <tom.reed@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Re: Sertraline headaches
Date: Fri, 07 Mar 2025 18:40:00 +0000
Message-ID: <b-5513@mail.example.com>
In-Reply-To: <b-5512@mail.example.com>
References: <b-5512@mail.example.com>
Content-Type: text/plain; charset="utf-8"

Since the sertraline I now also have tingling in my fingers.
"""
TERMS = [
    *DEFAULT_TERMS,
    InventedTerm("Came out in a rash", "Rash", soc="Invented skin class"),
    InventedTerm("Skin prickling", "Prickling sensation", soc="Invented nerve class"),
]


def _cases(up: LocalUp) -> list[dict[str, Any]]:
    return sorted(up.get("cases?limit=100")["cases"], key=lambda c: c["received_at"])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`pv local up --meddra DIR` with the emails dropped in one by one, each cased before the next
    (a follow-up finds the case it continues)."""
    work = tmp_path_factory.mktemp("regulatory-local")
    release = write_release(work / "MedDRA_91_1", TERMS, seed=1791)
    server, url = endpoint_double.start(endpoint_double.EndpointDouble())
    try:
        with local_up(work, url, "--meddra", str(release.folder)) as up:
            for i, (key, body) in enumerate(
                [
                    ("email/first.eml", FIRST),
                    ("email/reply.eml", REPLY),
                    ("email/other.eml", OTHER),
                    ("email/other-reply.eml", OTHER_REPLY),
                ]
            ):
                up.drop(key, body)
                up.until(lambda n=i + 1: len(_cases(up)) == n)
            yield {"up": up, "release": release}
    finally:
        server.shutdown()


def _decide(up: LocalUp, case_id: str, decision: str = "confirmed") -> dict[str, Any]:
    version = up.get(f"cases/{case_id}")["version"]
    body = {
        "decision": decision,
        "reason": "drug, reaction and reporter checked",
        "expected_version": version,
    }
    answer = up.call("POST", f"cases/{case_id}/decision", body)
    assert answer.status == 200, answer.text
    return answer.body


def _export(up: LocalUp, case_id: str, out: Path) -> int:
    return main(["case", "export-e2b", case_id, "--out", str(out), "--stack-file", str(up.stack_file)])


def test_the_bars_through_pv_local_up_and_stack_json(run: dict[str, Any]) -> None:
    up: LocalUp = run["up"]
    release: InventedRelease = run["release"]
    first_row, reply_row = _cases(up)[:2]

    # A case confirmed through the review API carries the dictionary's LLT and PT codes and version.
    first = _decide(up, first_row["case_id"])
    assert first["status"] == "confirmed" and first["version"] == 2
    coding = {c["event"]: c for c in first["regulatory"]["coding"]}
    assert first["regulatory"]["meddra_version"] == release.version
    assert coding["rash"]["status"] == "coded"
    assert coding["rash"]["term"]["llt_code"] in release.llt_codes.values()
    assert coding["rash"]["term"]["pt_code"] == release.pt_codes["Rash"]
    assert coding["rash"]["term"]["version"] == release.version
    assert first["regulatory"]["due_rule"]["rule_id"] == "eu-serious-15"

    # The reply in the same thread is proposed as a follow-up; confirmed, it is version 2 of the case.
    reply = _decide(up, reply_row["case_id"])
    [link] = reply["regulatory"]["links"]
    assert (link["case_id"], link["kind"], link["status"]) == (
        first["case_id"],
        "possible_follow_up",
        "proposed",
    )
    decision = {
        "decision": "confirmed",
        "reason": "same thread, same patient",
        "expected_version": reply["version"],
    }
    linked = up.call("POST", f"cases/{reply['case_id']}/links/{first['case_id']}", decision)
    assert linked.status == 200, linked.text
    assert linked.body["regulatory"]["report_version"] == 2
    assert linked.body["regulatory"]["worldwide_case_id"] == first["regulatory"]["worldwide_case_id"]
    assert up.call("POST", f"cases/{reply['case_id']}/links/{first['case_id']}", decision).status == 409
    assert up.get(f"cases/{first['case_id']}")["regulatory"]["follow_ups"] == [reply["case_id"]]

    # pv case export-e2b writes XML that e2br3 reads, with matching C.1.8.1, reactions, drugs, seriousness.
    out = up.work / "reply.xml"
    assert _export(up, reply["case_id"], out) == 0
    parsed = e2br3.parse(out.read_bytes())
    [icsr] = parsed.icsrs
    assert icsr.worldwide_case_id == first["regulatory"]["worldwide_case_id"]
    assert parsed.messages[0].message_id.endswith("-V2")
    both = [up.get(f"cases/{c}") for c in (first["case_id"], reply["case_id"])]
    coded = {c["term"]["llt_code"] for view in both for c in view["regulatory"]["coding"] if c["term"]}
    assert {r.meddra_code for r in icsr.reactions} == coded
    pts = {c["term"]["pt_code"] for view in both for c in view["regulatory"]["coding"] if c["term"]}
    assert pts == {release.pt_codes["Rash"], release.pt_codes["Vomiting"]}
    assert all(r.meddra_version == release.version for r in icsr.reactions)
    # Seriousness: the first report's admission, and no other criterion (E.i.3.2a-f).
    assert [c["criterion"] for c in first["seriousness_criteria"]] == ["hospitalisation"]
    others = (
        "results_in_death",
        "life_threatening",
        "disabling",
        "congenital_anomaly",
        "other_medically_important",
    )
    for reaction in icsr.reactions:
        assert reaction.hospitalisation is True
        assert all(e2br3.is_null(getattr(reaction, name)) for name in others)
    assert {d.substances[0]: d.role.code for d in icsr.drugs} == {"amoxicillin": "1"}
    assert [d.product_name for d in icsr.drugs] == ["amoxicillin"]

    # The export is in the bucket, recorded on the case and in its audit trail.
    exported = up.get(f"cases/{reply['case_id']}")
    [record] = exported["regulatory"]["exports"]
    info = up.stack
    s3 = up.client("s3")
    body = s3.get_object(Bucket=info["resources"]["IntakeBucket"], Key=record["key"])["Body"].read()
    assert body == out.read_bytes() and record["exported_by"] == "local-reviewer"
    actions = [r["action"] for r in up.get(f"cases/{reply['case_id']}/audit")["records"]]
    assert actions == ["decision", "link_confirmed", "e2b_exported"]
    assert [r["action"] for r in up.get(f"cases/{first['case_id']}/audit")["records"]] == [
        "decision",
        "follow_up_added",
    ]

    # The initial report exports under the same worldwide case id.
    initial = up.work / "first.xml"
    assert _export(up, first["case_id"], initial) == 0
    [first_icsr] = e2br3.parse(initial.read_bytes()).icsrs
    assert first_icsr.worldwide_case_id == icsr.worldwide_case_id


def test_an_unconfirmed_case_is_refused_with_its_reason(run: dict[str, Any], capsys) -> None:
    up: LocalUp = run["up"]
    other = _cases(up)[2]
    assert other["status"] == "new"
    assert _export(up, other["case_id"], up.work / "x.xml") == 2
    assert "not confirmed by a reviewer" in capsys.readouterr().err
    assert not (up.work / "x.xml").exists()
    assert up.get(f"cases/{other['case_id']}/audit")["records"] == []


def test_exports_and_the_release_in_the_bucket_are_never_screened(run: dict[str, Any]) -> None:
    info = run["up"].stack
    ddb = run["up"].client("dynamodb")
    screened = ddb.scan(TableName=info["resources"]["ScreeningsTable"])["Items"]
    assert {item["source_key"]["S"] for item in screened} == {
        "email/first.eml",
        "email/reply.eml",
        "email/other.eml",
        "email/other-reply.eml",
    }


def test_in_the_inbox_a_reviewer_picks_a_term_and_confirms_a_follow_up_side_by_side(
    run: dict[str, Any],
    browser,  # noqa: F811
) -> None:
    up: LocalUp = run["up"]
    release: InventedRelease = run["release"]
    other, other_reply = _cases(up)[2:4]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(up.stack["inbox_url"])
    row = page.locator(f"#rows tr[data-case-id={other_reply['case_id']}]")
    row.wait_for()

    # Keyboard only: focus the row, Enter opens the case.
    row.focus()
    page.keyboard.press("Enter")
    page.locator("#case h2", has_text=other_reply["case_id"]).wait_for()
    uncoded = page.locator("#regulatory tr[data-event=paraesthesia]")
    assert "uncoded" in uncoded.inner_text() and "tingling" in uncoded.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "regulatory-case.png"), full_page=True)

    # The term picker: search by words, arrow to a term, Enter codes the reaction.
    uncoded.locator("button.pick-term").focus()
    page.keyboard.press("Enter")
    search = page.locator("#term-picker input[name=q]")
    search.wait_for()
    assert page.evaluate("document.activeElement.name") == "q"
    search.fill("prickl")
    page.keyboard.press("Enter")
    choice = page.locator("#term-picker input[name=llt_code]")
    # Names that start with the words first: the PT's own LLT, then "Skin prickling".
    _until(lambda: choice.count() == 2)
    assert [choice.nth(i).get_attribute("value") for i in range(2)] == [
        release.pt_codes["Prickling sensation"],  # the PT's own LLT has its code
        release.llt_codes["Skin prickling"],
    ]
    choice.first.focus()
    page.keyboard.press("ArrowDown")  # a radio group: the arrow moves and selects
    assert (
        page.locator("#term-picker input[name=llt_code]:checked").get_attribute("value")
        == (release.llt_codes["Skin prickling"])
    )
    page.screenshot(path=str(SCREENSHOTS / "regulatory-term-picker.png"), full_page=True)
    page.keyboard.press("Tab")  # the reason
    page.keyboard.type("tingling: pins and needles")
    page.locator("#submit-term").focus()
    page.keyboard.press("Enter")
    page.locator("#case-message", has_text="Coded").wait_for()
    page.locator("#audit li", has_text="term chosen").wait_for()
    coded = up.get(f"cases/{other_reply['case_id']}")
    [tingling] = [c for c in coded["regulatory"]["coding"] if c["event"] == "paraesthesia"]
    assert (tingling["status"], tingling["method"], tingling["coded_by"]) == (
        "coded",
        "reviewer",
        "local-reviewer",
    )
    assert tingling["term"]["llt_code"] == release.llt_codes["Skin prickling"]

    # The link: both cases side by side, the follow-up confirmed with a reason.
    page.locator("#links button.compare").first.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#compare")
    dialog.wait_for()
    columns = dialog.locator(".side-by-side > section")
    assert columns.count() == 2
    assert (
        other_reply["case_id"] in columns.nth(0).inner_text()
        and other["case_id"] in columns.nth(1).inner_text()
    )
    assert "tingling" in columns.nth(0).inner_text() and "headaches" in columns.nth(1).inner_text()
    assert dialog.locator(".source").count() == 2
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("Same reporter, same thread: a follow-up.")
    page.screenshot(path=str(SCREENSHOTS / "regulatory-compare.png"))
    page.locator("#confirm-link").focus()
    page.keyboard.press("Enter")
    page.locator("#case-message", has_text="Link confirmed").wait_for()
    page.locator("#audit li", has_text="link confirmed").wait_for()
    assert page.locator("dialog#compare").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "regulatory-linked.png"), full_page=True)

    linked = up.get(f"cases/{other_reply['case_id']}")["regulatory"]
    assert (linked["report_version"], linked["follow_up_of"]) == (2, other["case_id"])
    assert linked["links"][0]["decided_by"] == "local-reviewer"
    trail = up.get(f"cases/{other['case_id']}/audit")["records"]
    assert [r["action"] for r in trail] == ["follow_up_added"]
    assert errors == []
