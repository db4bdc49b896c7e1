"""The MTL-Bioinformatics-2016 corpus: dataset names, the pinned commit, digests, and verified downloads.

Every file is checked against the SHA-256 digests shipped in `resources/MTL-Bioinformatics-2016.sha256`
(taken at the pinned commit), whether it comes from upstream or from a mirror (a directory or a base URL with
the same `<NAME>-IOB/<split>.tsv` layout). Transient HTTP failures are retried with exponential backoff; a
file is moved into place only once its digest matches, so an interrupted or failed download leaves nothing
that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import re
from collections.abc import Iterable, Sequence
import shutil
import time
import urllib.error
import urllib.request
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Callable

from dataclasses import dataclass
from typing import Any

from mtbioner.atomicio import atomic_write, write_json, write_jsonl
from mtbioner.data.align import ConversionReport, TypeMap, align_file
from mtbioner.data.standoff import detect_format, read_standoff
from mtbioner.data.files import CONVERSION_REPORT, MANIFEST, OFFSETS, SPLITS, raw_file
from mtbioner.errors import MtbionerError
from mtbioner.params import param_default

#: Upstream raw URL base at the pinned commit: the `data.source` default (its one home: mtbioner.param_model).
UPSTREAM_SOURCE: str = param_default("data", "source")
#: The pinned commit, as named in that URL (the shipped digests were taken at it).
UPSTREAM_COMMIT: str = re.search(r"/([0-9a-f]{40})/", UPSTREAM_SOURCE).group(1)  # type: ignore[union-attr]
PAPER_DATASETS = ("BC2GM", "BC5CDR-chem", "NCBI-disease")

#: HTTP statuses worth another try (rate limiting, gateway hiccups); anything else 4xx is final.
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@cache
def expected_digests() -> dict[tuple[str, str], str]:
    """(dataset, split) -> SHA-256 hex digest of the file at the pinned commit."""
    text = resources.files("mtbioner").joinpath("resources/MTL-Bioinformatics-2016.sha256").read_text("utf-8")
    digests = {}
    for line in text.splitlines():
        digest, relative = line.split(maxsplit=1)
        folder, filename = Path(relative).parts[-2:]
        digests[(folder.removesuffix("-IOB"), filename.removesuffix(".tsv"))] = digest
    return digests


def corpus_datasets() -> list[str]:
    return sorted({dataset for dataset, _ in expected_digests()})


def check_dataset_name(name: str, own: Iterable[str] = (), where: str = "") -> None:
    """MtbionerError (one line, with the closest name) unless `name` is a corpus dataset or one of `own`."""
    import difflib

    own = list(own)
    if name in own or name in corpus_datasets():
        return
    close = difflib.get_close_matches(name, own + corpus_datasets(), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"MTL-Bioinformatics-2016 has: {', '.join(corpus_datasets())}"
    own_note = " nor an own corpus (data.custom_datasets)" if own else ""
    raise MtbionerError(f"{where}{'' if not where else ': '}unknown dataset {name!r}: not in the corpus{own_note}; "
                        f"{hint}")


def _is_url(source: str) -> bool:
    return "://" in source


def local_file(source: str, dataset: str, split: str) -> Path:
    """Path of `<dataset>-IOB/<split>.tsv` in a local mirror `source` (its root or its data/ folder)."""
    base = Path(source)
    if not base.is_dir():
        raise MtbionerError(f"mirror directory not found: {source}")
    # Accept the corpus root (holding data/) as well as its data/ folder.
    folder = base / "data" if (base / "data" / f"{dataset}-IOB").is_dir() else base
    return folder / f"{dataset}-IOB" / f"{split}.tsv"


def _fetch_url(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (URL is a user parameter)
        body = response.read()
        declared = response.headers.get("Content-Length")
        if declared is not None and int(declared) != len(body):
            raise http.client.IncompleteRead(body, int(declared) - len(body))
        return body


def fetch_with_retries(url: str, *, attempts: int = 5, backoff: float = 1.0, timeout: float = 60.0,
                       sleep: Callable[[float], None] = time.sleep,
                       verify: Callable[[bytes], str | None] = lambda body: None) -> bytes:
    """GET `url`, retrying transient failures and bodies that fail `verify` (which returns a problem or None)."""
    problem = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            body = _fetch_url(url, timeout)
            problem = verify(body)
            if problem is None:
                return body
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code} {error.reason}"
            if error.code not in _RETRY_STATUSES:
                break
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
            problem = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    offline = ("" if not url.startswith(("http://", "https://")) else
               "; offline, use a local mirror of the corpus: make quick DATA_SOURCE=<mirror>/data, or "
               "snakemake --config 'data={source: <mirror>/data}'")
    raise MtbionerError(f"download failed: {url}: {problem}{offline}")


def _digest_problem(expected: str) -> Callable[[bytes], str | None]:
    def check(body: bytes) -> str | None:
        actual = hashlib.sha256(body).hexdigest()
        if actual == expected:
            return None
        looks_html = body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
        return (f"SHA-256 mismatch (got {actual[:12]}…, expected {expected[:12]}…, {len(body)} bytes"
                f"{'; the server sent an HTML page' if looks_html else ''})")

    return check


def download_dataset(dataset: str, out_dir: str | Path, source: str = UPSTREAM_SOURCE, *, attempts: int = 5,
                     backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> list[Path]:
    """Fetch `<dataset>-IOB/{train,devel,test}.tsv` from `source` into `out_dir`, each verified by SHA-256."""
    check_dataset_name(dataset)
    written = []
    for split in SPLITS:
        expected = expected_digests()[(dataset, split)]
        target = Path(raw_file(out_dir, split))
        if _is_url(source):
            url = f"{source.rstrip('/')}/{dataset}-IOB/{split}.tsv"
            body = fetch_with_retries(url, attempts=attempts, backoff=backoff, sleep=sleep,
                                      verify=_digest_problem(expected))
        else:
            local = local_file(source, dataset, split)
            if not local.is_file():
                raise MtbionerError(f"mirror has no {local}")
            body = local.read_bytes()
            problem = _digest_problem(expected)(body)
            if problem:
                raise MtbionerError(f"{local}: {problem}; the mirror does not match commit {UPSTREAM_COMMIT[:10]}")
        with atomic_write(target, "wb") as handle:
            handle.write(body)
        written.append(target)
    return written


def import_files(files: dict[str, Path | None], out_dir: str | Path, splits: Sequence[str] = SPLITS) -> list[Path]:
    """Copy an own corpus' split files (validated by the caller) into `out_dir`; a missing devel -> empty file."""
    written = []
    for split in splits:
        target = Path(raw_file(out_dir, split))
        with atomic_write(target, "wb") as handle:
            if files.get(split) is not None:
                with open(files[split], "rb") as source:
                    shutil.copyfileobj(source, handle)
        written.append(target)
    return written


# ------------------------------------------------------------------------------------- raw folder + manifest
def write_manifest(raw_dir: str | Path, dataset: str, source: str, files: dict[str, dict | None]) -> Path:
    """`<raw_dir>/manifest.json`: the dataset's name, where its files came from and, per split, its digest
    (None for a split the dataset does not have)."""
    path = Path(raw_dir) / MANIFEST
    write_json(path, {"dataset": dataset, "source": source, "files": files})
    return path


def download_with_manifest(dataset: str, out_dir: str | Path, source: str, *, attempts: int) -> Path:
    """`download_dataset` into `out_dir`, then its manifest (source at the pinned commit, digests); returns
    the manifest's path."""
    download_dataset(dataset, out_dir, source, attempts=attempts)
    files = {split: {"sha256": expected_digests()[(dataset, split)]} for split in SPLITS}
    return write_manifest(out_dir, dataset, f"{source} (commit {UPSTREAM_COMMIT})", files)


# Beside an own corpus' split files: CONVERSION_REPORT, what the conversion did (counts and every case per kind of
# alignment problem, `mtbioner.data.align.POLICIES`), and OFFSETS: per sentence converted from BioC/PubTator, its
# document and the character offsets of its words, which map the prepared data's tags (and predictions on them)
# back to the documents (names in mtbioner.data.files).
#: `data.custom_datasets.<name>.format`: auto = per file, from its content.
OWN_FORMATS = ("auto", "iob", "bioc", "bioc-json", "pubtator")


@dataclass(frozen=True)
class OwnCorpusOptions:
    """How an own corpus' files are read: their format, for BioC/PubTator which mention types are kept, and
    whether documents shared between splits are allowed (then counted) instead of stopping the import."""

    format: str = "auto"
    types: TypeMap = TypeMap()
    allow_shared_documents: bool = False

    @classmethod
    def from_entry(cls, entry: dict[str, Any] | None) -> "OwnCorpusOptions":
        entry = entry or {}
        fmt = entry.get("format") or "auto"
        if fmt not in OWN_FORMATS:
            raise MtbionerError(f"unknown corpus format {fmt!r}; expected one of {', '.join(OWN_FORMATS)}")
        return cls(fmt, TypeMap.from_options(entry.get("entity_types"), entry.get("types")),
                   bool(entry.get("allow_shared_documents", False)))

    def file_format(self, path: str | Path) -> str:
        """'iob', 'bioc', 'bioc-json' or 'pubtator' of one file (detected from its content for 'auto')."""
        if self.format != "auto":
            return self.format
        with open(path, "rb") as handle:
            return detect_format(handle.read(4096)) or "iob"

    def cli_args(self) -> list[str]:
        """The `mtbioner import-corpus` options that say the same (the workflow's rule passes them)."""
        args = ["--format", self.format]
        if self.types.entity_types:
            args += ["--entity-types", ",".join(self.types.entity_types)]
        for source, target in self.types.rename:
            args += ["--type", f"{source}={target or ''}"]
        if self.allow_shared_documents:
            args.append("--allow-shared-documents")
        return args


def read_own_split(path: str | Path, options: OwnCorpusOptions, report: ConversionReport,
                   documents: list | None = None) -> tuple[list[tuple[tuple[str, ...], tuple[str, ...]]], list[dict]]:
    """(tokens, tags) of every sentence of one own-corpus file, read strictly, and for BioC/PubTator each
    sentence's {document, offsets} (empty for IOB). Problems that stop the import are one MtbionerError naming
    the file (and line or document); alignment problems go into `report`. A BioC/PubTator file's documents are
    appended to `documents` when given (for `shared_documents`)."""
    from mtbioner.data.iob import read_iob

    fmt = options.file_format(path)
    if fmt == "iob":
        sentences = read_iob(path)
        report.files.append({"file": str(path), "format": "iob", "sentences": len(sentences)})
        return [(s.tokens, s.tags) for s in sentences], []
    standoff = read_standoff(path, fmt)
    if documents is not None:
        documents.extend(standoff.documents)
    aligned = align_file(standoff, options.types, report)
    if not aligned:
        raise MtbionerError(f"{path}: no sentence with words in any document")
    rows = [(tuple(t.text for t in s.tokens), s.tags) for s in aligned]
    return rows, [{"document": s.document, "offsets": [[t.start, t.end] for t in s.tokens]} for s in aligned]


def _document_keys(document) -> list[tuple[str, str]]:
    """What makes two documents the same: their id, and their text when it has any (whitespace at the ends aside)."""
    text = document.text.strip()
    return [("id", document.id)] + ([("text", text)] if text else [])


def shared_documents(name: str, files: dict[str, Path | None], documents: dict[str, list],
                     allow: bool) -> dict[str, Any]:
    """Documents of an own BioC/PubTator corpus found in two splits (the same id, or the same text) and
    documents repeated within one split; `documents` holds each split's documents in file order. A document in
    two splits puts text a model trained on into the split that scores it: without `allow` it stops the import
    with one MtbionerError naming both files and the documents; with it they are counted. Returns the counts
    and cases for conversion.json."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # key -> (split, document id) of its first occurrence
    shared: dict[tuple[str, str], list[dict]] = {}
    duplicates: dict[str, list[dict]] = {split: [] for split in documents}
    for split, split_documents in documents.items():
        for document in split_documents:
            earlier = {}
            for key in _document_keys(document):
                if key in seen:
                    earlier.setdefault(seen[key], key[0])
                else:
                    seen[key] = (split, document.id)
            for (first_split, first_id), same in earlier.items():
                case = {"document": document.id, "same_as": first_id, "same": same}
                if first_split == split:
                    duplicates[split].append(case)
                else:
                    shared.setdefault((first_split, split), []).append(case)
    if shared and not allow:
        (first, second), cases = next(iter(shared.items()))
        listed = ", ".join(f"{c['same_as']} = {c['document']} (same {c['same']})" for c in cases[:5])
        more = f" and {len(cases) - 5} more" if len(cases) > 5 else ""
        raise MtbionerError(
            f"data.custom_datasets.{name}: {len(cases)} document(s) of {first} ({files[first]}) also in {second} "
            f"({files[second]}): {listed}{more}; remove them from one split, or set "
            f"data.custom_datasets.{name}.allow_shared_documents: true to import them (counted in conversion.json)")
    return {"shared_documents": {"count": sum(len(c) for c in shared.values()), "allowed": allow,
                                 "cases": [{"splits": [a, b], **case} for (a, b), cases in shared.items()
                                           for case in cases]},
            "duplicate_documents": {"count": sum(len(c) for c in duplicates.values()),
                                    "per_split": {split: len(c) for split, c in duplicates.items()},
                                    "cases": [{"split": split, **case} for split, cases in duplicates.items()
                                              for case in cases]}}


def check_own_corpora(custom: dict[str, dict[str, Any]]) -> None:
    """Read every file of the declared own corpora (`data.custom_datasets`) strictly, BioC and PubTator files
    converted as the import will: the first problem as one MtbionerError naming the file and line or document.
    The workflow calls it when it builds the DAG, so a broken file stops `snakemake -n` instead of the import
    job later."""
    for name in custom:
        entry = custom.get(name) or {}
        try:
            options = OwnCorpusOptions.from_entry(entry)
        except MtbionerError as error:
            raise MtbionerError(f"data.custom_datasets.{name}: {error}") from None
        documents: dict[str, list] = {}
        for split in SPLITS:
            path = entry.get(split)
            if path:
                if not Path(path).is_file():
                    raise MtbionerError(f"data.custom_datasets.{name}.{split}: {path} does not exist")
                read_own_split(path, options, ConversionReport(), documents.setdefault(split, []))
        shared_documents(name, {split: entry.get(split) for split in SPLITS}, documents,
                         options.allow_shared_documents)


def import_own_corpus(name: str, files: dict[str, Path | None], out_dir: str | Path,
                      options: OwnCorpusOptions = OwnCorpusOptions()) -> tuple[Path, str]:
    """An own corpus into `out_dir`: every given split file is read strictly first (errors name the user's own
    file and line or document, and nothing is written); IOB files are copied as they are, BioC/PubTator files
    converted (`mtbioner.data.align`) into the same token<TAB>tag files, with `offsets.jsonl` and the
    conversion report `conversion.json` beside them (documents shared between splits stop the import unless
    `options.allow_shared_documents`, then they are counted there, as are documents repeated within a split:
    `shared_documents`); the manifest records each file's origin, format and
    digest. Returns the manifest's path and the report's one-line summary."""
    from mtbioner.data.iob import write_iob

    report = ConversionReport()
    converted: dict[str, tuple[list, list[dict]]] = {}
    documents: dict[str, list] = {}
    for split, path in files.items():
        if path is not None:
            converted[split] = read_own_split(path, options, report, documents.setdefault(split, []))
    overlap = shared_documents(name, files, documents, options.allow_shared_documents)
    offsets = []
    for split in SPLITS:
        rows, split_offsets = converted.get(split, ([], []))
        if split_offsets:
            write_iob(raw_file(out_dir, split), [(tokens, tags) for tokens, tags in rows])
        else:
            import_files({split: files.get(split)}, out_dir, splits=(split,))
        offsets += [{"split": split, "sentence": number, **row} for number, row in enumerate(split_offsets, start=1)]
    write_jsonl(Path(out_dir) / OFFSETS, offsets)
    write_json(Path(out_dir) / CONVERSION_REPORT, {"dataset": name, **report.to_json(), **overlap})
    manifest = {split: None if path is None else {"origin": str(path), "format": report_format(report, path),
                                                  "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
                for split, path in files.items()}
    return write_manifest(out_dir, name, "own corpus", manifest), report.summary()


def report_format(report: ConversionReport, path: str | Path) -> str:
    return next(entry["format"] for entry in report.files if entry["file"] == str(path))


def table1_datasets(datasets: Sequence[str]) -> list[str]:
    """Datasets Table 1 reads: the configured ones, plus BC5CDR-disease for the paper's combined BC5CDR row."""
    extra = ["BC5CDR-disease"] if "BC5CDR-chem" in datasets and "BC5CDR-disease" not in datasets else []
    return list(datasets) + extra
