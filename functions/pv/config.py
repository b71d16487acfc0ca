"""Settings read from the environment the template sets, validated once per container."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

# Every variable the code reads, with the field it fills. tests/test_template.py checks that the
# template sets each of them on the functions that need them.
ENV_VARS = {
    "INTAKE_BUCKET": "intake_bucket",
    "SCREENINGS_TABLE": "screenings_table",
    "CASES_TABLE": "cases_table",
    "IDEMPOTENCY_TABLE": "idempotency_table",
    "CASE_QUEUE_URL": "case_queue_url",
    "SAFETY_ALERTS_TOPIC_ARN": "safety_alerts_topic_arn",
    "CLASSIFIER_ENDPOINT_NAME": "classifier_endpoint_name",
    "CLASSIFIER_THRESHOLD": "classifier_threshold",
    "CLASSIFIER_BATCH_SIZE": "classifier_batch_size",
    "CLASSIFIER_TIMEOUT_S": "classifier_timeout_s",
    "CLASSIFIER_MAX_ATTEMPTS": "classifier_max_attempts",
    "EXTRACTOR_ENDPOINT_NAME": "extractor_endpoint_name",
    "SUMMARIZER_ENDPOINT_NAME": "summarizer_endpoint_name",
    "PHRASE_MAPPER_ENDPOINT_NAME": "phrase_mapper_endpoint_name",
    "MAX_DOCUMENT_BYTES": "max_document_bytes",
    "STAGE": "stage",
    # pv.regulatory: MedDRA release, labels, due-date rules, match keys, the E2B sender
    "MEDDRA_BUCKET": "meddra_bucket",
    "MEDDRA_PREFIX": "meddra_prefix",
    "PRODUCT_LABELS_KEY": "product_labels_key",
    "DUE_DATE_RULES": "due_date_rules",
    "MATCH_KEYS_TABLE": "match_keys_table",
    "MATCH_KEY_ID": "match_key_id",
    "E2B_SENDER_ORGANIZATION": "e2b_sender_organization",
    "E2B_SENDER_IDENTIFIER": "e2b_sender_identifier",
    "E2B_SENDER_COUNTRY": "e2b_sender_country",
    "E2B_RECEIVER_IDENTIFIER": "e2b_receiver_identifier",
    "CASE_DRUGS_TABLE": "case_drugs_table",
    "AUDIT_TABLE": "audit_table",
    "USER_POOL_CLIENT_ID": "user_pool_client_id",
    # ReconcileFunction: the window it checks, ending GRACE minutes ago (work still in flight)
    "RECONCILE_LOOKBACK_MINUTES": "reconcile_lookback_minutes",
    "RECONCILE_GRACE_MINUTES": "reconcile_grace_minutes",
}


class Settings(BaseModel):
    """The pipeline's configuration. Empty strings mean "not configured"."""

    intake_bucket: str = ""
    screenings_table: str = ""
    cases_table: str = ""
    idempotency_table: str = ""
    case_queue_url: str = ""
    safety_alerts_topic_arn: str = ""
    classifier_endpoint_name: str = ""
    classifier_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    classifier_batch_size: int = Field(default=32, ge=1, le=512)
    classifier_timeout_s: float = Field(default=10.0, gt=0)
    classifier_max_attempts: int = Field(default=4, ge=1, le=10)
    extractor_endpoint_name: str = ""
    summarizer_endpoint_name: str = ""
    phrase_mapper_endpoint_name: str = ""
    max_document_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    stage: str = "dev"
    meddra_bucket: str = ""
    meddra_prefix: str = ""
    product_labels_key: str = ""
    due_date_rules: str = "EU"
    match_keys_table: str = ""
    match_key_id: str = ""
    e2b_sender_organization: str = "Pharmacovigilance intake"
    e2b_sender_identifier: str = "PVINTAKE"
    e2b_sender_country: str = ""
    e2b_receiver_identifier: str = ""
    case_drugs_table: str = ""  # a case's items by suspect drug (the inbox's drug index)
    audit_table: str = ""
    user_pool_client_id: str = ""  # the inbox signs in with this Cognito app client
    reconcile_lookback_minutes: int = Field(default=180, ge=1)
    reconcile_grace_minutes: int = Field(default=15, ge=0)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {field: env[var] for var, field in ENV_VARS.items() if env.get(var, "") != ""}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings (read once; tests call settings.cache_clear())."""
    return Settings.from_env()
