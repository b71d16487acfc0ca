"""The intake bucket: source documents in, parsed documents kept for the case function."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pv.models import SentenceScore, SourceDocument

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from pv.reconciliation import ObjectVersion

PARSED_PREFIX = "parsed/"


def parsed_key(document_id: str) -> str:
    """Where the parsed SourceDocument of a document is kept."""
    return f"{PARSED_PREFIX}{document_id}.json"


def flagged_key(document_id: str) -> str:
    """Where the full list of a document's flagged sentences is kept (under parsed/: what
    ScreenFunction derives from a document, never notified, encrypted with the data key)."""
    return f"{PARSED_PREFIX}flagged/{document_id}.json"


@cache
def _flagged() -> TypeAdapter[list[SentenceScore]]:
    """The full flagged list's adapter, built on first use: few documents flag more sentences
    than their records hold, so a cold screening request seldom needs it."""
    from pydantic import TypeAdapter

    return TypeAdapter(list[SentenceScore])


# What S3 answers for a key, a version or a bucket that is not there (with ListBucket granted).
_MISSING = ("NoSuchKey", "NoSuchVersion", "404", "NoSuchBucket")


class ObjectMissing(Exception):
    """The object was deleted (or never existed) before it could be read."""


class ObjectTooLarge(Exception):
    """The object is larger than the configured limit; it is not read."""


@dataclass
class IntakeBucket:
    s3: Any  # boto3 s3 client
    name: str

    def read(
        self, key: str, max_bytes: int, bucket: str | None = None, version_id: str | None = None
    ) -> bytes:
        """The object's bytes, refusing objects over `max_bytes` before downloading them.

        `version_id`: that version (what a versioned bucket's notification names), whatever is
        current now; a later overwrite or delete marker does not change what is read.
        """
        request = {"Bucket": bucket or self.name, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        try:
            response = self.s3.get_object(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ObjectMissing(key) from exc
            raise
        body = response["Body"]
        if response.get("ContentLength", 0) > max_bytes:
            body.close()
            raise ObjectTooLarge(key)
        data = body.read(max_bytes + 1)
        body.close()
        if len(data) > max_bytes:
            raise ObjectTooLarge(key)
        return data

    def put_parsed(self, document: SourceDocument) -> str:
        """Keep the parsed document (personal data: stays in this encrypted bucket)."""
        key = parsed_key(document.document_id)
        self.s3.put_object(
            Bucket=self.name,
            Key=key,
            Body=document.model_dump_json().encode(),
            ContentType="application/json",
        )
        return key

    def put_flagged(self, document_id: str, flagged: list[SentenceScore]) -> str:
        """Keep every flagged sentence of a document (personal data: stays in this bucket)."""
        key = flagged_key(document_id)
        self.s3.put_object(
            Bucket=self.name, Key=key, Body=_flagged().dump_json(flagged), ContentType="application/json"
        )
        return key

    def get_flagged(self, key: str) -> list[SentenceScore]:
        """A document's full list of flagged sentences (`put_flagged`)."""
        return _flagged().validate_json(self.s3.get_object(Bucket=self.name, Key=key)["Body"].read())

    def get_parsed(self, key: str) -> SourceDocument:
        body = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        return SourceDocument.model_validate_json(body)


def object_versions(s3: Any, bucket: str, prefixes: list[str]) -> Iterator[ObjectVersion]:
    """Every version of the objects under `prefixes` (delete markers left out), page by page."""
    from pv.reconciliation import ObjectVersion  # ReconcileFunction's, not a screening's

    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", []):
                version_id = version.get("VersionId")
                yield ObjectVersion(
                    key=version["Key"],
                    version_id=None if version_id in (None, "null") else version_id,
                    last_modified=version["LastModified"],
                )
