"""The documentation stays readable and its links hold (issue 32, "A README that fits a few screens").

README.md is what users read first: it fits a few screens, shows the two commands CI proves (`.ci/run`) near its
top, and carries no test count (a count goes stale with every commit; measured, dated counts and times live in
docs/SPEED.md). Every relative link of the project's Markdown resolves to a file, and a `#fragment` to one of
its headings, so moving text between README.md and docs/ cannot leave a dangling link.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: README's length limit (issue 32): a few screens, room left for short sections other changes add.
README_MAX_LINES = 350
#: The two commands (.ci/run proves them) are on README's first screen.
COMMANDS_WITHIN = 40

#: The Markdown a reader follows links in: README, every page under docs/, and the READMEs of config/, profiles/
#: and benchmarks/ (results/ and .venv/ are not the project's).
PAGES = sorted({README, *ROOT.glob("docs/**/*.md"),
                *(ROOT / folder / "README.md" for folder in ("config", "profiles", "benchmarks"))})

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks (a `[x](y)` inside code is code, not a link)."""
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", _prose(page.read_text(encoding="utf-8")), re.M)}


def test_readme_fits_a_few_screens() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, at most {README_MAX_LINES}"


def test_readme_shows_the_two_commands_on_its_first_screen() -> None:
    first = README.read_text(encoding="utf-8").splitlines()[:COMMANDS_WITHIN]
    for command in ("make quick", "make test"):
        assert any(re.match(rf"{command}\b", line) for line in first), f"`{command}` not in README's first lines"


def test_readme_holds_no_test_count() -> None:
    """A count of passed tests goes stale with every commit: docs/SPEED.md holds the dated measurement."""
    count = r"\b\d[\d,]*\s+(?:tests?\s+)?(?:passed|failed|skipped|xfailed)\b"
    counts = re.findall(count, README.read_text(encoding="utf-8"))
    assert not counts, f"README.md states test counts: {counts}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: — not checked offline
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in _anchors(resolved):
            broken.append(f"{target} (no heading #{fragment} in {resolved.relative_to(ROOT).as_posix()})")
    assert not broken, f"{page.relative_to(ROOT).as_posix()}: " + "; ".join(broken)


#: Where code, presets and pages name a section of a README in words: `README, "Section"` (the top README) or
#: `benchmarks/README.md, "Section"`.
NAMING = re.compile(r"(?<![\w/])((?:[\w.-]+/)*)README(?:\.md)?,? [\"“]([^\"”]+)[\"”]")


def _headings(page: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.*)$", _prose(page.read_text(encoding="utf-8")), re.M)]


def test_readme_sections_named_elsewhere_exist() -> None:
    """A section moved out of a README must not leave `README, "Its title"` behind in the code or the pages (a
    title names a heading by its beginning, as "GPU check" names "GPU check: `gpu_check.py` ...")."""
    folders = ("src", "config", "docs", "benchmarks", "workflow", "profiles", "tests")
    files = [path for folder in folders for path in (ROOT / folder).rglob("*")
             if path.is_file() and path.suffix in {".py", ".md", ".yaml", ".sh", ".smk", ".rst"}
             and path != Path(__file__).resolve()]
    stale = []
    for path in files:
        for folder, title in NAMING.findall(path.read_text(encoding="utf-8", errors="replace")):
            page = ROOT / folder / "README.md"
            if not page.exists() or not any(heading.startswith(title) for heading in _headings(page)):
                stale.append(f"{path.relative_to(ROOT).as_posix()}: {folder}README.md, {title!r}")
    assert not stale, f"no such section: {sorted(set(stale))}"
