"""Atomic file output: a reader (or Snakemake) never sees a half-written file.

Everything is written to a temporary file in the target's directory and moved into place with
`os.replace`, which is atomic on POSIX file systems. An interrupted run leaves at most a `.tmp-*` file.
The one JSON-lines reader (prepared examples, epochs.jsonl) sits next to its writer, `write_jsonl`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from mtbioner.errors import MtbionerError


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}.", dir=target.parent)
    # mkstemp creates the file private (0600); the result should get the permissions any new file gets.
    os.chmod(tmp_name, 0o666 & ~_current_umask())
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a staging directory beside `path`; it replaces `path` only when the block completes.

    A directory cannot be swapped in one `os.replace` while the old one exists, so the old one is removed
    first; an interruption between the two leaves no directory rather than a half-written one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}.", dir=target.parent))
    staging.chmod(0o777 & ~_current_umask())  # mkdtemp makes it private; the result should not be
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path) as handle:
        handle.write(text)


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_jsonl(path: str | Path, rows: Iterator[Any] | list[Any]) -> None:
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(1-based line, value) of every non-blank line of a JSON-lines file; a line that is not JSON is one
    `MtbionerError` naming `path:line`. A missing file raises FileNotFoundError (callers word it)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as error:
                    raise MtbionerError(f"{path}:{number}: not valid JSON ({error.msg})") from None


def read_jsonl(path: str | Path) -> list[Any]:
    """The values of a JSON-lines file (`iter_jsonl`), blank lines skipped."""
    return [value for _, value in iter_jsonl(path)]
