"""ReviewFunction: the review API and the web inbox behind an API Gateway HTTP API (Cognito JWT).

Routes (OpenAPI at /openapi.json): GET /cases, GET /cases/{case_id}, POST /cases/{case_id}/review,
POST /cases/{case_id}/decision, GET /cases/{case_id}/audit; the regulatory ones (pv.regulatory):
GET /cases/{case_id}/e2b, POST /cases/{case_id}/links/{linked_case_id}, POST /cases/{case_id}/coding,
GET /meddra/terms; the inbox page at /. API Gateway
checks the token; the role is the `cognito:groups` claim it passes on (reviewer or viewer).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pv import runtime
from pv.adapters.review_store import BadCursor, StaleVersion
from pv.config import settings
from pv.models import Channel
from pv.observability import logger, metrics, tracer
from pv.regulatory.e2b import ExportRefused
from pv.regulatory.models import LinkDecisionRequest, TermChoiceRequest, TermSearch
from pv.regulatory.service import RegulatoryChangeRefused
from pv.review.auth import Unauthenticated, actor_from_claims
from pv.review.inbox_page import inbox_page
from pv.review.lifecycle import InvalidTransition
from pv.review.models import (
    ALL_STATUSES,
    Actor,
    AuditTrail,
    CasePage,
    CaseView,
    DecisionRequest,
    ErrorBody,
    InboxQuery,
    SortOrder,
    StartReviewRequest,
)
from pv.review.service import CaseNotFound, NotAllowed

app = APIGatewayHttpResolver(enable_validation=True)

CASE_ID = r"^PV-[0-9A-F]{1,64}$"
STATUS_LIST = rf"^({'|'.join(ALL_STATUSES)})(,({'|'.join(ALL_STATUSES)}))*$"
NO_STORE = {"Cache-Control": "no-store"}
ERRORS: dict[int, OpenAPIResponse] = {
    401: {"description": "no valid token", "content": {"application/json": {"model": ErrorBody}}},
    403: {"description": "the role may not do this", "content": {"application/json": {"model": ErrorBody}}},
    404: {"description": "no such case", "content": {"application/json": {"model": ErrorBody}}},
}
STALE: OpenAPIResponse = {
    "description": "stale version",
    "content": {"application/json": {"model": ErrorBody}},
}
CaseId = Annotated[str, Path(pattern=CASE_ID, description="PV-... case id")]


def _actor() -> Actor:
    return actor_from_claims(app.current_event.request_context.authorizer.jwt_claim)


def _request_id() -> str | None:
    return app.current_event.request_context.request_id


@app.get("/", include_in_schema=False)
def inbox() -> Response[str]:
    """The web inbox (signs in with the stack's Cognito app client, or a token in its URL fragment)."""
    page = inbox_page(
        user_pool_client_id=settings().user_pool_client_id, region=os.environ.get("AWS_REGION", "")
    )
    return Response(200, content_types.TEXT_HTML, page.html, headers=page.headers)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    body = app.get_openapi_json_schema(
        title="Pharmacovigilance case review API",
        version="1.0.0",
        description="The safety reviewers' inbox: cases by due date, decisions, corrections, audit trails.",
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
        security=[{"bearer": []}],
    )
    return Response(200, content_types.APPLICATION_JSON, body)


@app.get("/cases", responses=ERRORS)
def list_cases(
    status: Annotated[str | None, Query(pattern=STATUS_LIST, description="comma-separated statuses")] = None,
    serious: Annotated[bool | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    drug: Annotated[str | None, Query(min_length=1, max_length=200, description="a suspect drug")] = None,
    due_before: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")] = None,
    order: Annotated[SortOrder, Query(description="by due date")] = "asc",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=8000)] = None,
) -> CasePage:
    """Cases sorted by due date, filtered, a page at a time (from indexes, never a scan)."""
    _actor()
    query = InboxQuery.model_validate(
        {
            **({"statuses": status.split(",")} if status else {}),
            "serious": serious,
            "channel": channel,
            "drug": drug,
            "due_before": due_before,
            "order": order,
            "limit": limit,
            "cursor": cursor,
        }
    )
    return runtime.review_workbench().inbox(query)


@app.get("/cases/<case_id>", responses=ERRORS)
def get_case(case_id: CaseId) -> CaseView:
    """The case with its marked-up source document (redacted for viewers)."""
    return runtime.review_workbench().case(case_id, _actor())


@app.post("/cases/<case_id>/review", responses={**ERRORS, 409: STALE})
def start_review(case_id: CaseId, request: StartReviewRequest) -> CaseView:
    """Take the case: status in_review, assigned to the caller (reviewers only)."""
    return runtime.review_workbench().start_review(case_id, request.expected_version, _actor(), _request_id())


@app.post("/cases/<case_id>/decision", responses={**ERRORS, 409: STALE})
def decide(case_id: CaseId, request: DecisionRequest) -> CaseView:
    """Decide the case, with optional corrections (reviewers only); 409 when `expected_version` is stale."""
    view = runtime.review_workbench().decide(case_id, request, _actor(), _request_id())
    metrics.add_metric(name="ReviewDecisions", unit=MetricUnit.Count, value=1)
    return view


@app.get(
    "/cases/<case_id>/e2b",
    responses={
        200: {
            "description": "the ICSR (HL7 v3 MCCI_IN200100UV01 batch), also written to the bucket under e2b/",
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "headers": {
                "X-E2B-Key": {"description": "its key in the bucket", "schema": {"type": "string"}},
                "X-E2B-Sha256": {"description": "sha256 of the XML", "schema": {"type": "string"}},
                "X-Report-Version": {
                    "description": "ICSR version (follow-ups)",
                    "schema": {"type": "integer"},
                },
                "X-Case-Version": {
                    "description": "the case version after the export",
                    "schema": {"type": "integer"},
                },
            },
        },
        **ERRORS,
        409: STALE,
        422: {
            "description": "export_refused, with the reasons",
            "content": {"application/json": {"model": ErrorBody}},
        },
    },
)
def export_e2b(
    case_id: CaseId,
    expected_version: Annotated[
        int | None, Query(ge=1, description="export this version (409 if stale)")
    ] = None,
) -> Response[bytes]:
    """Export the confirmed case as an E2B(R3) ICSR (reviewers only); the export is recorded on the
    case and in its audit trail."""
    export = runtime.regulatory_service().export(case_id, _actor(), expected_version, _request_id())
    metrics.add_metric(name="IcsrExports", unit=MetricUnit.Count, value=1)
    headers = {
        "Content-Disposition": f'attachment; filename="{case_id}-v{export.record.report_version}.xml"',
        "X-E2B-Key": export.key,
        "X-E2B-Sha256": export.record.sha256,
        "X-Report-Version": str(export.record.report_version),
        "X-Case-Version": str(export.case.version),
        **NO_STORE,
    }
    return Response(200, "application/xml", export.xml, headers)


@app.post("/cases/<case_id>/links/<linked_case_id>", responses={**ERRORS, 409: STALE})
def decide_link(
    case_id: CaseId,
    linked_case_id: Annotated[str, Path(pattern=CASE_ID, description="the earlier case of the link")],
    request: LinkDecisionRequest,
) -> CaseView:
    """Confirm or reject a proposed duplicate or follow-up link (reviewers only); a confirmed
    follow-up becomes the next version of the earlier case."""
    service = runtime.regulatory_service()
    service.decide_link(
        case_id,
        linked_case_id,
        request.decision,
        _actor(),
        request.expected_version,
        request.reason,
        _request_id(),
    )
    return runtime.review_workbench().case(case_id, _actor())


@app.post("/cases/<case_id>/coding", responses={**ERRORS, 409: STALE})
def choose_term(case_id: CaseId, request: TermChoiceRequest) -> CaseView:
    """Code a reaction to the current MedDRA LLT the reviewer picked (reviewers only)."""
    runtime.regulatory_service().choose_term(
        case_id,
        request.event,
        request.llt_code,
        _actor(),
        request.expected_version,
        request.reason,
        _request_id(),
    )
    return runtime.review_workbench().case(case_id, _actor())


@app.get("/meddra/terms", responses=ERRORS)
def search_terms(
    q: Annotated[str, Query(min_length=1, max_length=200, description="words of the term, or an LLT code")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> TermSearch:
    """Current LLTs of the configured MedDRA release, for the term picker."""
    _actor()
    return runtime.regulatory_service().search(q, limit)


@app.get("/cases/<case_id>/audit", responses=ERRORS)
def audit(case_id: CaseId) -> AuditTrail:
    """Every change to the case, oldest first."""
    return runtime.review_workbench().audit(case_id, _actor())


def _error(status: int, error: str, message: str, **extra: Any) -> Response[str]:
    body = ErrorBody(error=error, message=message, **extra)
    return Response(status, content_types.APPLICATION_JSON, body.model_dump_json(exclude_none=True), NO_STORE)


@app.exception_handler(Unauthenticated)
def _unauthenticated(exc: Unauthenticated) -> Response[str]:
    return _error(401, "unauthenticated", str(exc))


@app.exception_handler(NotAllowed)
def _not_allowed(exc: NotAllowed) -> Response[str]:
    return _error(403, "forbidden", str(exc))


@app.exception_handler(CaseNotFound)
def _not_found(exc: CaseNotFound) -> Response[str]:
    return _error(404, "not_found", "no such case")


@app.exception_handler(StaleVersion)
def _stale(exc: StaleVersion) -> Response[str]:
    if exc.case_id is not None:  # the other case of a two-case change (a follow-up's earlier case)
        return _error(
            409, "stale_version", f"{exc.case_id} changed meanwhile: nothing was recorded, try again"
        )
    return _error(409, "stale_version", "the case changed since you loaded it", current_version=exc.current)


@app.exception_handler(InvalidTransition)
def _invalid(exc: InvalidTransition) -> Response[str]:
    return _error(400, "invalid_transition", str(exc))


@app.exception_handler(ExportRefused)
def _export_refused(exc: ExportRefused) -> Response[str]:
    return _error(422, "export_refused", str(exc), reasons=exc.reasons)


@app.exception_handler(RegulatoryChangeRefused)
def _regulatory_refused(exc: RegulatoryChangeRefused) -> Response[str]:
    return _error(400, "refused", str(exc))


@app.exception_handler(BadCursor)
def _bad_cursor(exc: BadCursor) -> Response[str]:
    return _error(400, "bad_cursor", str(exc))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
# No response or error in the trace: answers hold document text.
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    headers = response.setdefault("headers", {})
    for name, value in {**NO_STORE, "X-Content-Type-Options": "nosniff"}.items():
        headers.setdefault(name, value)
    return response
