"""MedDRA coding's last step through the runtime: exact, lexical variants, then the embedding match
of the phrase-mapper endpoint (PhraseMapperEndpointName), which is optional. The dictionary is
invented by the tests in the MedDRA ASCII format (tests/meddra_release.py); the endpoint is a
double that keeps the phrase mapper's contract (`{"inputs": [...]}` -> `[{"terms": [{"term",
"score"}]}]`) over the SageMaker runtime route, reached through the unchanged boto3 client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from meddra_release import InventedRelease, InventedTerm, write_release
from moto import mock_aws
from pv import runtime
from pv.regulatory.coding import NO_MAPPER_NOTE
from template_stack import provision_template

ENDPOINT = "phrase-mapper-test"
TERMS = [
    InventedTerm("Alopecia", "Alopecia", soc="Invented skin class"),
    InventedTerm("Hair loss", "Alopecia", soc="Invented skin class"),
    InventedTerm("Rash", "Rash", soc="Invented skin class"),
    InventedTerm("Palpitations", "Palpitations", soc="Invented heart class"),
]


@dataclass
class PhraseMapperDouble:
    """Answers each phrase with the nearest standard terms it was given, else a weak guess."""

    nearest: dict[str, list[tuple[str, float]]]
    status: int = 200
    asked: list[tuple[str, list[str]]] = field(default_factory=list)

    def answer(self, path: str, phrases: list[str]) -> tuple[int, object]:
        self.asked.append((path, phrases))
        if self.status != 200:
            return self.status, {"message": "injected"}
        return 200, [
            {"terms": [{"term": t, "score": s} for t, s in self.nearest.get(p, [("rash", 0.2)])]}
            for p in phrases
        ]


@pytest.fixture
def mapper(monkeypatch: pytest.MonkeyPatch) -> Iterator[PhraseMapperDouble]:
    double = PhraseMapperDouble(
        {
            "clumps in my brush": [("alopecia", 0.83), ("rash", 0.31)],
            "heart doing flips": [("palpitations", 0.79)],
        }
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            status, body = double.answer(self.path, payload["inputs"])
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{server.server_port}")
    yield double
    server.shutdown()


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InventedRelease]:
    """The invented release under an S3 prefix (moto), as MeddraPrefix names it."""
    invented = write_release(tmp_path / "release", TERMS, seed=11)
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MEDDRA_PREFIX": "meddra/v1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        bucket = provision_template().physical("IntakeBucket")  # MEDDRA_BUCKET's default
        monkeypatch.setenv("INTAKE_BUCKET", bucket)
        s3 = boto3.client("s3", region_name="eu-west-1")
        for path in (invented.folder / "MedAscii").iterdir():
            s3.put_object(Bucket=bucket, Key=f"meddra/v1/MedAscii/{path.name}", Body=path.read_bytes())
        runtime.reset()
        yield invented
    runtime.reset()


class _NoCases:
    """A case store with no cases (CaseStore's reads)."""

    def linked_cases(self, case_ids: list[str]) -> list[Any]:
        return []


# Exact, a lexical variant (the plural), and words no lexical step reads.
REACTIONS = [
    ("rash", ["a rash"]),
    ("palpitation", ["palpitation"]),
    ("hair thinning", ["clumps in my brush"]),
]


def test_what_the_lexical_steps_miss_is_coded_by_the_phrase_mapper_endpoint(
    release: InventedRelease, mapper: PhraseMapperDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a release and PHRASE_MAPPER_ENDPOINT_NAME WHEN the case's reactions are coded THEN the
    exact and lexical steps code what they can, and the endpoint is asked once, for the reporter's
    words of the rest only, whose nearest standard term codes them (method "embedding")."""
    monkeypatch.setenv("PHRASE_MAPPER_ENDPOINT_NAME", ENDPOINT)
    runtime.reset()
    coding, version, note = runtime.regulatory_intake(_NoCases()).code_reactions(REACTIONS)  # type: ignore[arg-type]

    assert (version, note) == (release.version, None)
    assert [(c.status, c.method) for c in coding] == [
        ("coded", "exact"),
        ("coded", "variant"),
        ("coded", "embedding"),
    ]
    assert coding[1].term is not None and coding[1].term.llt_code == release.llt_codes["Palpitations"]
    assert coding[2].term is not None and coding[2].term.llt_code == release.llt_codes["Alopecia"]
    assert coding[2].verbatim == "clumps in my brush"
    assert mapper.asked == [(f"/endpoints/{ENDPOINT}/invocations", ["clumps in my brush"])]


def test_a_phrase_whose_nearest_term_is_weak_stays_uncoded_for_the_reviewer(
    release: InventedRelease, mapper: PhraseMapperDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHRASE_MAPPER_ENDPOINT_NAME", ENDPOINT)
    runtime.reset()
    [coding], _, _ = runtime.regulatory_intake(_NoCases()).code_reactions([("odd", ["legs like concrete"])])  # type: ignore[arg-type]
    assert coding.status == "uncoded" and coding.needs_review
    assert len(mapper.asked) == 1


def test_without_the_endpoint_coding_stops_at_the_lexical_steps(
    release: InventedRelease, mapper: PhraseMapperDouble
) -> None:
    """GIVEN no PHRASE_MAPPER_ENDPOINT_NAME WHEN coded THEN what the lexical steps miss is
    uncoded (flagged for the reviewer), and no endpoint is called."""
    coding, version, _ = runtime.regulatory_intake(_NoCases()).code_reactions(REACTIONS)  # type: ignore[arg-type]
    assert version == release.version
    assert [c.status for c in coding] == ["coded", "coded", "uncoded"]
    assert mapper.asked == []


def test_a_failing_endpoint_leaves_its_reactions_uncoded_and_codes_the_rest(
    release: InventedRelease, mapper: PhraseMapperDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the endpoint refuses the request WHEN coded THEN the case's coding still comes back:
    the lexical codes stand, the rest is uncoded with a note saying the phrase mapper did not answer."""
    mapper.status = 400
    monkeypatch.setenv("PHRASE_MAPPER_ENDPOINT_NAME", ENDPOINT)
    runtime.reset()
    coding, _, _ = runtime.regulatory_intake(_NoCases()).code_reactions(REACTIONS)  # type: ignore[arg-type]
    assert [c.status for c in coding] == ["coded", "coded", "uncoded"]
    assert coding[2].note == NO_MAPPER_NOTE and coding[2].needs_review
