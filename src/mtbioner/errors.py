"""Errors meant for the user: printed as one line by the CLI, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class MtbionerError(Exception):
    """A problem the user can fix (bad input, bad configuration, failed download)."""


class CorpusFormatError(MtbionerError):
    """A corpus file breaks the `token<TAB>tag` format; names the file and the 1-based line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class StandoffFormatError(MtbionerError):
    """A BioC or PubTator file is malformed; names the file, the 1-based line where one is known, and the
    document."""

    def __init__(self, path: str | Path, message: str, document: str | None = None, line: int | None = None) -> None:
        self.path = str(path)
        self.document = document
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        in_document = f"document {document}: " if document is not None else ""
        super().__init__(f"{where}: {in_document}{message}")
