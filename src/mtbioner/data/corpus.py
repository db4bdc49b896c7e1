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

from mtbioner.atomicio import atomic_write, write_json
from mtbioner.errors import MtbionerError
from mtbioner.params import param_default

#: Upstream raw URL base at the pinned commit: the schema's `data.source` default (its one home).
UPSTREAM_SOURCE: str = param_default("data", "source")
#: The pinned commit, as named in that URL (the shipped digests were taken at it).
UPSTREAM_COMMIT: str = re.search(r"/([0-9a-f]{40})/", UPSTREAM_SOURCE).group(1)  # type: ignore[union-attr]
SPLITS = ("train", "devel", "test")
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
        target = Path(out_dir) / f"{split}.tsv"
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


def import_files(files: dict[str, Path | None], out_dir: str | Path) -> list[Path]:
    """Copy an own corpus' split files (validated by the caller) into `out_dir`; a missing devel -> empty file."""
    written = []
    for split in SPLITS:
        target = Path(out_dir) / f"{split}.tsv"
        with atomic_write(target, "wb") as handle:
            if files.get(split) is not None:
                with open(files[split], "rb") as source:
                    shutil.copyfileobj(source, handle)
        written.append(target)
    return written


# ------------------------------------------------------------------------------------- raw folder + manifest
#: Written beside the split files by `download_with_manifest` and `import_own_corpus`; `prepare` reads it.
MANIFEST = "manifest.json"


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


def check_own_corpora(custom: dict[str, dict[str, str | None]]) -> None:
    """Read every file of the declared own corpora (`data.custom_datasets`) strictly (`read_iob`): the first
    problem as one MtbionerError naming the file and line. The workflow calls it when it builds the DAG, so a
    broken line stops `snakemake -n` instead of the import job later."""
    from mtbioner.data.iob import read_iob

    for name in custom:
        for split in ("train", "devel", "test"):
            path = (custom.get(name) or {}).get(split)
            if path:
                if not Path(path).is_file():
                    raise MtbionerError(f"data.custom_datasets.{name}.{split}: {path} does not exist")
                read_iob(path)


def import_own_corpus(name: str, files: dict[str, Path | None], out_dir: str | Path) -> Path:
    """An own corpus into `out_dir`: each given split file is validated as IOB first (errors name the user's
    own file and line, and nothing is copied), then copied (`import_files`); the manifest records each file's
    origin and digest. Returns the manifest's path."""
    from mtbioner.data.iob import read_iob

    for path in files.values():
        if path is not None:
            read_iob(path)
    import_files(files, out_dir)
    manifest = {split: None if path is None else {"origin": str(path),
                                                  "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
                for split, path in files.items()}
    return write_manifest(out_dir, name, "own corpus", manifest)


def table1_datasets(datasets: Sequence[str]) -> list[str]:
    """Datasets Table 1 reads: the configured ones, plus BC5CDR-disease for the paper's combined BC5CDR row."""
    extra = ["BC5CDR-disease"] if "BC5CDR-chem" in datasets and "BC5CDR-disease" not in datasets else []
    return list(datasets) + extra
