"""What a container builds once: settings, AWS clients, services. `reset()` drops them all.

Clients are made lazily on first use (no side effects at import) and then reused by every
invocation of the container. The local stack calls `reset()` after changing the environment.

Each function's services are imported where they are built, so a container loads only its own:
ScreenFunction never imports case handling or Idempotency, CaseFunction never the channel
parsers, sentence splitter or classifier client (cold start: `pv bench` cold_import_ratio).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3

from pv.config import Settings, settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from pv.adapters.case_store import CaseStore
    from pv.adapters.endpoint import EndpointInvoker
    from pv.cases import CaseService
    from pv.models import SourceDocument
    from pv.reconciliation import Gaps
    from pv.regulatory.intake import RegulatoryIntake
    from pv.regulatory.meddra import MeddraRelease
    from pv.regulatory.sender import Sender
    from pv.regulatory.service import RegulatoryService
    from pv.review.service import Workbench
    from pv.screening import ScreeningPipeline


@lru_cache(maxsize=1)
def idempotency_config() -> IdempotencyConfig:
    """CaseFunction's Idempotency settings, keyed on the document id."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    # A day covers SQS retries and redrive; after it, the derived case id still prevents a second case.
    return IdempotencyConfig(event_key_jmespath="document_id", expires_after_seconds=24 * 3600)


@dataclass(frozen=True)
class Clients:
    s3: Any
    sqs: Any
    sns: Any
    dynamodb: Any
    sagemaker_runtime: Any


@lru_cache(maxsize=1)
def clients() -> Clients:
    from botocore.config import Config

    config = settings()
    endpoint_config = Config(
        connect_timeout=min(config.classifier_timeout_s, 5.0),
        read_timeout=config.classifier_timeout_s,
        retries={"total_max_attempts": 1},  # EndpointInvoker retries with its own backoff
    )
    return Clients(
        s3=boto3.client("s3"),
        sqs=boto3.client("sqs"),
        sns=boto3.client("sns"),
        dynamodb=boto3.resource("dynamodb"),
        sagemaker_runtime=boto3.client("sagemaker-runtime", config=endpoint_config),
    )


def endpoint_invoker(endpoint_name: str, config: Settings | None = None) -> EndpointInvoker:
    from pv.adapters.endpoint import EndpointInvoker

    config = config or settings()
    return EndpointInvoker(
        clients().sagemaker_runtime, endpoint_name, max_attempts=config.classifier_max_attempts
    )


@lru_cache(maxsize=1)
def screening_pipeline() -> ScreeningPipeline:
    from pv.adapters.bucket import IntakeBucket
    from pv.adapters.endpoint import ClassifierClient
    from pv.adapters.stores import ScreeningStore
    from pv.screening import ScreeningPipeline

    config, aws = settings(), clients()
    return ScreeningPipeline(
        bucket=IntakeBucket(aws.s3, config.intake_bucket),
        screenings=ScreeningStore(aws.dynamodb.Table(config.screenings_table)),
        sqs=aws.sqs,
        case_queue_url=config.case_queue_url,
        classifier=ClassifierClient(
            endpoint_invoker(config.classifier_endpoint_name), batch_size=config.classifier_batch_size
        ),
        threshold=config.classifier_threshold,
        max_document_bytes=config.max_document_bytes,
        rule_check=_rule_check,
        # The slowest request (every attempt waits out its timeout), then writing the records.
        reserve_ms=int((config.classifier_max_attempts * config.classifier_timeout_s + 15.0) * 1000),
    )


def _rule_check(document: SourceDocument) -> list[str]:
    # Imported on first use, not at cold start: most documents never need the rules.
    from pv.intelligence import adverse_event_sentences

    return adverse_event_sentences(document)


@lru_cache(maxsize=1)
def case_service() -> CaseService:
    from pv.adapters.bucket import IntakeBucket
    from pv.adapters.topic import AlertPublisher
    from pv.cases import CaseService
    from pv.intelligence import assess_case  # the case-intelligence seam

    config, aws = settings(), clients()

    def assess(document, flagged):  # type: ignore[no-untyped-def]
        return assess_case(document, flagged, **intelligence_backends(config))

    cases = case_store(config, aws)
    return CaseService(
        bucket=IntakeBucket(aws.s3, config.intake_bucket),
        cases=cases,
        publisher=AlertPublisher(aws.sns, config.safety_alerts_topic_arn),
        assess=assess,
        regulatory=regulatory_intake(cases),
    )


def e2b_sender(config: Settings | None = None) -> Sender:
    """C.3 and the batch routing ids, from the template's parameters."""
    from pv.regulatory.sender import Sender

    config = config or settings()
    return Sender(
        organization=config.e2b_sender_organization,
        identifier=config.e2b_sender_identifier,
        country=config.e2b_sender_country,
        receiver=config.e2b_receiver_identifier,
    )


@lru_cache(maxsize=1)
def meddra_release() -> MeddraRelease | None:
    """The user's MedDRA release (MEDDRA_BUCKET/MEDDRA_PREFIX), read once per container; None
    without one (reactions then stay uncoded verbatims, and cases and exports say so)."""
    from pv.regulatory.meddra import release_from_s3

    config = settings()
    if not config.meddra_prefix:
        return None
    return release_from_s3(clients().s3, config.meddra_bucket or config.intake_bucket, config.meddra_prefix)


def regulatory_intake(cases: CaseStore) -> RegulatoryIntake:
    """Coding, due-date rule and links for new cases, as the template configures them (linking
    where the function has the match-key table: CaseFunction)."""
    from pv.adapters.regulatory import MatchKeyTable
    from pv.regulatory.coding import MeddraCoder
    from pv.regulatory.due_dates import NO_LABELS, ProductLabels, rule_set
    from pv.regulatory.intake import RegulatoryIntake
    from pv.regulatory.linking import kms_keyer

    config, aws = settings(), clients()
    release = meddra_release()
    labels = NO_LABELS
    if config.product_labels_key:
        bucket = config.meddra_bucket or config.intake_bucket
        body = aws.s3.get_object(Bucket=bucket, Key=config.product_labels_key)["Body"].read()
        labels = ProductLabels.from_json(body)
    linking = bool(config.match_keys_table and config.match_key_id)
    return RegulatoryIntake(
        sender=e2b_sender(config),
        rules=rule_set(config.due_date_rules),
        read_linked=cases.linked_cases,
        keyer=kms_keyer(boto3.client("kms"), config.match_key_id) if linking else None,
        index=MatchKeyTable(aws.dynamodb.Table(config.match_keys_table)) if linking else None,
        coder=MeddraCoder(release, nearest_terms=coding_nearest_terms(config))
        if release is not None
        else None,
        labels=labels,
    )


def case_store(config: Settings, aws: Clients) -> CaseStore:
    """The Cases table and, when the template names it, the case-drug index table."""
    from pv.adapters.case_store import CaseStore

    drugs = aws.dynamodb.Table(config.case_drugs_table) if config.case_drugs_table else None
    return CaseStore(aws.dynamodb.Table(config.cases_table), drug_index=drugs)


@lru_cache(maxsize=1)
def review_workbench() -> Workbench:
    """The review API's service: the inbox indexes, the audit table, the parsed documents; every
    change keeps the regulatory record in step (coding of corrected events, the due rule)."""
    from pv.adapters.bucket import IntakeBucket
    from pv.adapters.review_store import ReviewStore
    from pv.review.service import Workbench

    config, aws = settings(), clients()
    cases = case_store(config, aws)
    return Workbench(
        store=ReviewStore(cases, aws.dynamodb.Table(config.audit_table)),
        bucket=IntakeBucket(aws.s3, config.intake_bucket),
        upkeep=regulatory_intake(cases).upkeep,
    )


@lru_cache(maxsize=1)
def regulatory_service() -> RegulatoryService:
    """The review API's regulatory actions (export, links, terms), through the workbench."""
    from pv.adapters.regulatory import E2bBucket
    from pv.regulatory.service import RegulatoryService

    config, aws = settings(), clients()
    return RegulatoryService(
        workbench=review_workbench(),
        archive=E2bBucket(aws.s3, config.intake_bucket),
        sender=e2b_sender(config),
        release=meddra_release,
    )


@lru_cache(maxsize=1)
def idempotent_case_opener() -> Callable[..., dict[str, Any]]:
    """`CaseService.open_case` behind powertools Idempotency, keyed on the document id."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from pv.models import CaseRequest

    service = case_service()
    persistence = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=idempotency_config()
    )
    def open_case(request: CaseRequest) -> dict[str, Any]:
        case = service.open_case(request)
        return {"case_id": case.case_id, "status": case.status, "serious": case.facts.serious}

    return open_case


def phrase_mapper(config: Settings) -> Any:
    """The phrase-mapper endpoint (`EndpointPhraseMapper`) when the template names one
    (PhraseMapperEndpointName), else None."""
    if not config.phrase_mapper_endpoint_name:
        return None
    from pv.intelligence.phrases import EndpointPhraseMapper

    invoker = endpoint_invoker(config.phrase_mapper_endpoint_name, config)
    return EndpointPhraseMapper(lambda payload: invoker.invoke(payload).body)


def coding_nearest_terms(config: Settings) -> Callable[[list[str]], list[list[tuple[str, float]]]] | None:
    """MedDRA coding's last step, the embedding match: the phrase-mapper endpoint's nearest terms,
    its failures as `NearestTermsError` (the reactions stay uncoded for the reviewer); None
    without the endpoint (coding stops at the lexical steps)."""
    mapper = phrase_mapper(config)
    if mapper is None:
        return None
    from pv.adapters.endpoint import EndpointError
    from pv.intelligence.extraction import ExtractorError
    from pv.regulatory.coding import NearestTermsError

    def nearest_terms(phrases: list[str]) -> list[list[tuple[str, float]]]:
        try:
            answer: list[list[tuple[str, float]]] = mapper.nearest_terms(phrases)
        except (EndpointError, ExtractorError) as exc:
            raise NearestTermsError(str(exc)) from exc
        return answer

    return nearest_terms


def intelligence_backends(config: Settings) -> dict[str, Any]:
    """Optional extractor/summarizer endpoints, when the template names them.

    The extractor endpoint adds to the lexicon rather than replacing it (`CombinedExtractor`).
    """
    backends: dict[str, Any] = {}
    try:
        from pv.intelligence import CombinedExtractor, EndpointExtractor, EndpointSummarizer
    except ImportError:
        return backends
    if config.extractor_endpoint_name:
        invoker = endpoint_invoker(config.extractor_endpoint_name, config)
        backends["extractor"] = CombinedExtractor(
            EndpointExtractor(lambda payload: invoker.invoke(payload).body)
        )
    mapper = phrase_mapper(config)
    if mapper is not None:
        from pv.intelligence.phrases import PhraseMappingExtractor

        backends["extractor"] = PhraseMappingExtractor(mapper, backends.get("extractor"))
    if config.summarizer_endpoint_name:
        invoker_s = endpoint_invoker(config.summarizer_endpoint_name, config)
        backends["summarizer"] = EndpointSummarizer(lambda payload: invoker_s.invoke(payload).body)
    return backends


def reconcile(since: datetime, until: datetime) -> Gaps:
    """The gaps of [since, until) in this stack's bucket and tables (`pv.reconciliation`)."""
    config, aws = settings(), clients()
    return reconcile_stack(
        aws.s3, aws.dynamodb, config.intake_bucket, config.screenings_table, config.cases_table, since, until
    )


def reconcile_stack(
    s3: Any,
    dynamodb: Any,
    bucket: str,
    screenings_table: str,
    cases_table: str,
    since: datetime,
    until: datetime,
) -> Gaps:
    """The gaps of [since, until) in a stack's bucket and tables, through the given clients
    (ReconcileFunction's, or `pv ops reconcile`'s for the local or a deployed stack)."""
    from pv.adapters.bucket import object_versions
    from pv.adapters.case_store import CaseStore
    from pv.adapters.stores import ScreeningStore
    from pv.models import Channel
    from pv.reconciliation import find_gaps

    cases = CaseStore(dynamodb.Table(cases_table))
    return find_gaps(
        since=since,
        until=until,
        objects=object_versions(s3, bucket, [f"{c.value}/" for c in Channel]),
        screenings=ScreeningStore(dynamodb.Table(screenings_table)).screened_since(since),
        existing_cases=cases.existing,
        pending_alerts=lambda before: cases.pending_alerts(created_before=before),
    )


def reset() -> None:
    """Forget settings, clients and services (after the environment changed)."""
    for cached in (
        settings,
        clients,
        screening_pipeline,
        case_service,
        idempotent_case_opener,
        idempotency_config,
        meddra_release,
        review_workbench,
        regulatory_service,
    ):
        cached.cache_clear()
