"""A licensed MedDRA release, read from the MSSO's ASCII distribution files (never shipped here).

The files are `$`-separated, one record a line, with a trailing `$`; English and the Western
European languages come in extended ASCII (read as Latin-1 when not UTF-8), the others in UTF-8.
The record layouts read (from the MSSO distribution file format document, as public loaders of
the release also read them):

    llt.asc             llt_code$llt_name$pt_code$llt_whoart_code$llt_harts_code$llt_costart_sym$
                        llt_icd9_code$llt_icd9cm_code$llt_icd10_code$llt_currency$llt_jart_code$
    pt.asc              pt_code$pt_name$null_field$pt_soc_code$(legacy cross-codes...)$
    hlt.asc, hlgt.asc   code$name$(legacy cross-codes...)$
    soc.asc             soc_code$soc_name$soc_abbrev$(legacy cross-codes...)$
    mdhier.asc          pt_code$hlt_code$hlgt_code$soc_code$pt_name$hlt_name$hlgt_name$soc_name$
                        soc_abbrev$null_field$pt_soc_code$primary_soc_fg$
    meddra_release.asc  version$language$...

Only the fields named above are read; the legacy cross-coding columns are ignored. A release is
found in the folder given or in its `MedAscii` subfolder (as the distribution unpacks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pv.regulatory.models import MeddraTerm

REQUIRED_FILES = ("llt.asc", "pt.asc", "mdhier.asc", "soc.asc", "meddra_release.asc")
OPTIONAL_FILES = ("hlt.asc", "hlgt.asc")
RELEASE_SUBFOLDER = "MedAscii"

# Reads one release file by name: its bytes, or None when the release lacks it.
ReadFile = Callable[[str], bytes | None]


class MeddraReleaseError(ValueError):
    """The folder or prefix does not hold a readable MedDRA ASCII release."""


@dataclass(frozen=True, slots=True)
class LowestLevelTerm:
    code: str
    name: str
    pt_code: str
    current: bool


@dataclass(frozen=True, slots=True)
class PreferredTerm:
    code: str
    name: str
    primary_soc_code: str


@dataclass
class MeddraRelease:
    """The terms of one release, by code, and the primary path of each preferred term."""

    version: str
    language: str
    llts: dict[str, LowestLevelTerm]
    pts: dict[str, PreferredTerm]
    socs: dict[str, str]
    skipped_lines: int = 0
    _terms: dict[str, MeddraTerm] = field(default_factory=dict, repr=False)

    def term(self, llt_code: str) -> MeddraTerm | None:
        """The LLT with its PT and primary SOC, or None when the code is no LLT of this release."""
        cached = self._terms.get(llt_code)
        if cached is not None:
            return cached
        llt = self.llts.get(llt_code)
        if llt is None:
            return None
        pt = self.pts.get(llt.pt_code)
        if pt is None:
            return None
        term = MeddraTerm(
            llt_code=llt.code,
            llt_name=llt.name,
            pt_code=pt.code,
            pt_name=pt.name,
            soc_code=pt.primary_soc_code,
            soc_name=self.socs.get(pt.primary_soc_code, ""),
            version=self.version,
        )
        self._terms[llt_code] = term
        return term

    def current_llts(self) -> Iterator[LowestLevelTerm]:
        """Every current LLT whose preferred term is in the release."""
        return (t for t in self.llts.values() if t.current and t.pt_code in self.pts)

    def current_llts_of(self, pt_code: str) -> list[LowestLevelTerm]:
        """The current LLTs under a preferred term, the PT's own LLT (same code) first."""
        under = [t for t in self.current_llts() if t.pt_code == pt_code]
        return sorted(under, key=lambda t: (t.code != pt_code, t.code))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # the English release's extended ASCII


def _records(data: bytes, min_fields: int) -> tuple[list[list[str]], int]:
    """The `$`-separated records of a file (fields stripped), and how many lines were unusable."""
    rows, skipped = [], 0
    for line in _decode(data).splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("$")]
        if len(fields) < min_fields or not fields[0]:
            skipped += 1
            continue
        rows.append(fields)
    return rows, skipped


def load_release(read: ReadFile) -> MeddraRelease:
    """Read a release through `read` (a folder's or an S3 prefix's files, by name)."""
    files = {name: read(name) for name in (*REQUIRED_FILES, *OPTIONAL_FILES)}
    missing = [name for name in REQUIRED_FILES if files[name] is None]
    if missing:
        raise MeddraReleaseError(f"not a MedDRA ASCII release: {', '.join(missing)} missing")

    skipped = 0

    def rows(name: str, min_fields: int) -> list[list[str]]:
        nonlocal skipped
        found, bad = _records(files[name] or b"", min_fields)
        skipped += bad
        return found

    release_rows = rows("meddra_release.asc", 1)
    if not release_rows:
        raise MeddraReleaseError("meddra_release.asc names no version")
    version = release_rows[0][0]
    language = release_rows[0][1] if len(release_rows[0]) > 1 else ""

    socs = {r[0]: r[1] for r in rows("soc.asc", 2)}
    primary: dict[str, str] = {}
    for r in rows("mdhier.asc", 12):
        if r[11].upper() == "Y":
            primary[r[0]] = r[3]
        else:
            primary.setdefault(r[0], r[3])
        socs.setdefault(r[3], r[7])
    pts = {
        r[0]: PreferredTerm(code=r[0], name=r[1], primary_soc_code=primary.get(r[0]) or r[3])
        for r in rows("pt.asc", 4)
    }
    llts = {
        r[0]: LowestLevelTerm(code=r[0], name=r[1], pt_code=r[2], current=r[9].upper() == "Y")
        for r in rows("llt.asc", 10)
    }
    if not llts or not pts:
        raise MeddraReleaseError("the release holds no lowest-level or preferred terms")
    return MeddraRelease(
        version=version, language=language, llts=llts, pts=pts, socs=socs, skipped_lines=skipped
    )


def release_from_folder(folder: str | Path) -> MeddraRelease:
    """The release in `folder`, or in its `MedAscii` subfolder."""
    root = Path(folder)
    if not root.is_dir():
        raise MeddraReleaseError(f"{root} is not a folder")
    if not (root / "llt.asc").is_file() and (root / RELEASE_SUBFOLDER).is_dir():
        root = root / RELEASE_SUBFOLDER

    def read(name: str) -> bytes | None:
        path = root / name
        return path.read_bytes() if path.is_file() else None

    return load_release(read)


def release_from_s3(s3: Any, bucket: str, prefix: str) -> MeddraRelease:
    """The release under an S3 prefix (or its `MedAscii/` subprefix), read with a boto3 S3 client.

    Only s3:GetObject is needed: a file that is not there (404, or 403 without s3:ListBucket) is
    missing.
    """
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def reader(folder: str) -> ReadFile:
        def read(name: str) -> bytes | None:
            try:
                return bytes(s3.get_object(Bucket=bucket, Key=f"{folder}{name}")["Body"].read())
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied", "403"):
                    return None
                raise

        return read

    read = reader(base)
    if read("meddra_release.asc") is None and reader(f"{base}{RELEASE_SUBFOLDER}/")("meddra_release.asc"):
        read = reader(f"{base}{RELEASE_SUBFOLDER}/")
    return load_release(read)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` -> (bucket, prefix)."""
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise MeddraReleaseError(f"not an S3 URI: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix
