"""A small `pv load`: mixed documents through the local stack with 10% endpoint faults reconcile."""

from __future__ import annotations

import json

from pv_local import cli
from pv_local.load import EndpointProxy, mixed_documents

REPORT_KEYS = {"documents", "lost", "duplicate_cases", "duplicate_alerts", "docs_per_s", "terminal_states"}


def test_a_load_run_under_ten_percent_endpoint_faults_loses_nothing_and_duplicates_nothing(tmp_path):
    """GIVEN ~100 documents of all three channels, some bad, and 10% of endpoint calls failing
    WHEN `pv load` runs them through the local stack THEN the written report accounts for every
    document in one terminal state, with no loss, no duplicate case or alert."""
    out = tmp_path / "load.json"

    code = cli.main(["load", "--documents", "100", "--fault-rate", "0.1", "--seed", "3", "--json", str(out)])

    report = json.loads(out.read_text())
    assert code == 0
    assert set(report) >= REPORT_KEYS
    assert report["documents"] >= 100
    assert sum(report["terminal_states"].values()) == report["documents"]
    assert (report["lost"], report["duplicate_cases"], report["duplicate_alerts"]) == (0, 0, 0)
    assert report["in_several_states"] == 0 and report["ae_without_case"] == 0
    assert report["cases"] == report["alerts"] == report["terminal_states"]["screened_ae"] > 0
    assert report["terminal_states"]["quarantined"] > 0
    assert sum(report["endpoint_faults"].values()) > 0  # the faults really happened
    assert report["docs_per_s"] > 0
    # ReconcileFunction's own check, which knows nothing of what was sent, agrees: the only object
    # versions without a screening are those dead-lettered, every AE has its case and every case
    # its alert.
    assert report["production_check"] == {
        "UnscreenedObjectVersions": report["dead_lettered_objects"],
        "UncasedAdverseEvents": report["ae_without_case"],
        "UnsentAlerts": report["cases_without_alert"],
    }


def test_the_load_mix_has_every_channel_bad_input_and_pushed_posts_all_unique():
    items = mixed_documents(300, seed=1)

    prefixes = {item.expected_key.split("/", 1)[0] for item in items}
    assert prefixes == {"email", "call", "social"}
    assert any(item.key is None for item in items)  # posts pushed to SocialQueue
    assert any(item.key and ("binary" in item.key or "broken" in item.key) for item in items)
    assert len({item.body for item in items}) == len(items)
    assert len({item.expected_key for item in items}) == len(items)
    assert sum(item.documents for item in items) >= 300


def test_the_proxy_injects_the_requested_share_of_faults_and_forwards_the_rest():
    proxy = EndpointProxy(fault_rate=0.1, seed=7)
    body = json.dumps({"inputs": ["I got a rash.", "Nice day."]}).encode()

    answers = [proxy.answer("/endpoints/x/invocations", body, "application/json") for _ in range(2000)]

    ok = [json.loads(a[1]) for a in answers if a[0] == 200 and a[1].startswith(b"[")]
    assert 150 <= sum(proxy.stats.faults.values()) <= 250
    assert set(proxy.stats.faults) == {"throttling", "server_error", "unavailable", "malformed", "short"}
    assert ok[0] == [{"label": "Adverse_Event", "score": 0.9}, {"label": "Not_AE", "score": 0.9}]
    assert proxy.stats.calls == 2000
