"""`pv screen`, `pv cases`, `pv alerts` and the folder watcher, with the endpoint double."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import endpoint_double
import pytest
from pv_local.cli import main
from pv_local.demo import SAMPLE_DOCUMENTS as SAMPLES
from pv_local.results import keys_for
from pv_local.stack import LocalStack
from pv_local.watch import FolderWatcher, watch

AE_EMAIL = (
    b"From: Dana Fake <dana@example.com>\r\nTo: medinfo@example.com\r\nSubject: reaction\r\n"
    b"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n\r\n"
    b"I started amoxicillin on Monday and now I have a rash all over my arms.\r\n"
)
QUESTION_CALL = b"Agent: Hello, how can I help?\nCaller: Can I take ibuprofen with food?\n"
FEED = (
    b'{"id": "p1", "text": "ozempic makes me vomit every single morning"}\n'
    b'{"id": "p2", "text": "the pharmacy line was long today"}\n'
    b"{not json\n"
)


@pytest.fixture(scope="module")
def endpoint_url() -> Iterator[str]:
    server, url = endpoint_double.start(endpoint_double.EndpointDouble())
    yield url
    server.shutdown()


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for key, body in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


@pytest.fixture(scope="module")
def screened(
    tmp_path_factory: pytest.TempPathFactory, endpoint_url: str
) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """`pv screen` run once on a folder it has never seen (working directory: a temp folder)."""
    work = tmp_path_factory.mktemp("work")
    inbox = _write(
        work / "inbox",
        {
            "email/ae.eml": AE_EMAIL,
            "email/binary.eml": bytes(range(256)) * 4,
            "call/question.txt": QUESTION_CALL,
            "social/feed.jsonl": FEED,
            "notes.txt": b"not a document",
        },
    )
    before = Path.cwd()
    os.chdir(work)
    try:
        code = main(
            ["screen", str(inbox), "--out", "results.jsonl", "--endpoint-url", endpoint_url, "--quiet"]
        )
        assert code == 0
        lines = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
        yield work, lines
    finally:
        os.chdir(before)


def test_screen_writes_one_line_per_document_and_post(screened: tuple[Path, list[dict[str, Any]]]) -> None:
    _, lines = screened
    assert [(x["key"], x["status"], x["is_ae"], x["reason"]) for x in lines] == [
        ("call/question.txt", "screened", False, None),
        ("email/ae.eml", "screened", True, None),
        ("email/binary.eml", "quarantined", None, "binary"),
        ("notes.txt", "quarantined", None, "unknown_prefix"),
        ("social/feed.jsonl#line-3", "quarantined", None, "malformed_json"),
        ("social/feed.jsonl#p1", "screened", True, None),
        ("social/feed.jsonl#p2", "screened", False, None),
    ]
    assert set(lines[0]) >= {
        "key", "status", "is_ae", "score", "suspect_drugs", "events", "serious",
        "seriousness_criteria", "case_id", "summary", "alert", "unread_attachments",
    }  # fmt: skip


def test_screen_line_of_an_adverse_event_carries_its_case_and_alert(
    screened: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, lines = screened
    ae = next(x for x in lines if x["key"] == "email/ae.eml")
    assert ae["score"] == 0.96  # the double's score for a sentence with a reaction word
    assert ae["suspect_drugs"] == ["amoxicillin"]
    assert ae["case_id"] is not None
    assert ae["alert"]["case_id"] == ae["case_id"]
    assert ae["alert"]["suspect_drugs"] == ["amoxicillin"]
    question = next(x for x in lines if x["key"] == "call/question.txt")
    assert (question["case_id"], question["alert"]) == (None, None)


def test_cases_and_alerts_list_the_saved_run_with_filters(
    screened: tuple[Path, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    work, lines = screened
    case_ids = {x["case_id"] for x in lines if x["case_id"]}
    before = Path.cwd()
    os.chdir(work)
    try:
        capsys.readouterr()
        assert main(["cases", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert {c["case_id"] for c in listed} == case_ids
        assert [c["created_at"] for c in listed] == sorted((c["created_at"] for c in listed), reverse=True)

        assert main(["cases", "--json", "--drug", "Amoxicillin"]) == 0
        amoxicillin = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [c["source_key"] for c in amoxicillin] == ["email/ae.eml"]

        assert main(["alerts", "--json", "--drug", "amoxicillin"]) == 0
        alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [a["message"]["case_id"] for a in alerts] == [amoxicillin[0]["case_id"]]

        assert main(["alerts", "--json", "--drug", "no-such-drug"]) == 0
        assert capsys.readouterr().out == ""
    finally:
        os.chdir(before)


def test_screen_without_a_trained_model_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    assert main(["screen", "docs", "--out", "r.jsonl", "--model", str(tmp_path / "missing")]) == 2
    assert "make model" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists()


def test_keys_are_relative_to_the_folder_or_to_a_nested_channel_folder(tmp_path: Path) -> None:
    files = [
        tmp_path / "email" / "a.eml",
        tmp_path / "documents" / "call" / "b.txt",
        tmp_path / "x" / "social" / "c.jsonl",
        tmp_path / "y" / "social" / "c.jsonl",
        tmp_path / "README.md",
    ]
    assert keys_for(tmp_path, files) == {
        "email/a.eml": files[0],
        "call/b.txt": files[1],
        "x/social/c.jsonl": files[2],  # two files would share social/c.jsonl: full paths kept
        "y/social/c.jsonl": files[3],
        "README.md": files[4],
    }


def test_folder_watcher_waits_until_a_file_stops_changing(tmp_path: Path) -> None:
    watcher = FolderWatcher(tmp_path)
    path = tmp_path / "email" / "a.eml"
    path.parent.mkdir()
    path.write_bytes(b"part")
    assert watcher.ready() == []  # first sighting
    path.write_bytes(b"partial, still copying")
    assert watcher.ready() == []  # changed since
    assert watcher.ready() == [("email/a.eml", path)]
    assert watcher.ready() == []  # uploaded once


def test_watch_processes_dropped_files_and_reports_alerts(tmp_path: Path, endpoint_url: str) -> None:
    uploads: list[str] = []
    alerts: list[Any] = []
    stop = threading.Event()
    with LocalStack(endpoint_url=endpoint_url, retry_delay_s=0) as stack:
        worker = threading.Thread(
            target=watch,
            args=(stack, tmp_path, stop),
            kwargs={"on_upload": uploads.append, "on_alert": alerts.append},
        )
        worker.start()
        try:
            _write(tmp_path, {"email/ae.eml": AE_EMAIL, "call/question.txt": QUESTION_CALL})
            deadline = time.monotonic() + 300
            while not alerts and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop.set()
            worker.join(timeout=30)
    assert not worker.is_alive()
    assert sorted(uploads) == ["call/question.txt", "email/ae.eml"]
    assert [a.message["suspect_drugs"] for a in alerts] == [["amoxicillin"]]


def test_local_up_processes_a_dropped_file_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, endpoint_url: str
) -> None:
    """`pv local up --watch` in its own process: an alert is printed; SIGINT ends it with state saved."""
    log = tmp_path / "up.out"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pv_local.cli",
                "local",
                "up",
                "--watch",
                "inbox",
                "--endpoint-url",
                endpoint_url,
            ],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:
        _wait_for(log, "Watching", process)
        _write(tmp_path / "inbox", {"email/ae.eml": AE_EMAIL})
        _wait_for(log, "New alert", process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "uploaded email/ae.eml" in output
    assert "Stopped; nothing left running" in output
    state = json.loads((tmp_path / ".artifacts" / "local" / "state.json").read_text())
    assert [c["source_key"] for c in state["cases"]] == ["email/ae.eml"]
    assert [a["message"]["case_id"] for a in state["alerts"]] == [state["cases"][0]["case_id"]]


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{text!r} not printed: {log.read_text()}"
        time.sleep(0.2)


def test_demo_prints_tables_and_writes_the_report(
    endpoint_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pv demo` runs every sample document and leaves a JSON report that matches the stores."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["demo", "--endpoint-url", endpoint_url, "--report", "report.json"]) == 0
    shown = capsys.readouterr().out
    for title in ("Screened documents", "Cases opened", "Alerts received on SafetyAlertsTopic"):
        assert title in shown
    report = json.loads((tmp_path / "report.json").read_text())
    manifest = json.loads((SAMPLES / "MANIFEST.json").read_text())["documents"]
    expected = {post for key, doc in manifest.items() for post in doc.get("posts", {key: None})}
    assert {line["key"] for line in report["documents"]} == expected
    assert report["model"] is None and report["endpoint_url"] == endpoint_url
    assert sorted(a["message"]["case_id"] for a in report["alerts"]) == sorted(
        c["case_id"] for c in report["cases"]
    )
    assert report["dead_letters"] == []
    assert report["pump"]["messages_failed"] == 0
