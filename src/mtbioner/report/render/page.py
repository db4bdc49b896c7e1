"""results/<name>/report.md: the configuration, every table and figure, and the generated summary, on one page.

The page is assembled from the files the other report verbs wrote (tables as Markdown, figures as PNG, the
verdicts and pair-wise CSVs, the TaskEmb similarity matrix) plus the runs themselves for the
configuration and the summary; a product the configuration did not build is named as missing, not invented.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mtbioner import __version__
from mtbioner.atomicio import write_text
from mtbioner.report.stats.aggregate import runs_frame
from mtbioner.run.config import RunConfig
from mtbioner.run.directory import FinishedRun
from mtbioner.report.render.summary import VERDICT_COLUMNS, generated_summary

TABLE_FILES = ("verdicts.md", "table2.md", "table3.md", "table4.md", "fp_rates.md", "table5.md")
FIGURES = (
    ("figure4", "Figure 4: per-epoch test score of each task (joint-max, longest training budget)"),
    ("figure5", "Figure 5: pair-wise gains over the single-task model"),
    ("figure6", "Figure 6: TaskEmb task embeddings (cosine similarities{tsne})"),
)
#: Why no cosine of two TaskEmb embeddings is negative, and what to read them against (Figure 6).
TASKEMB_NOTE = (
    "TaskEmb vectors are squared gradients (Fisher-like), non-negative in every coordinate, so the cosine of any "
    "two is positive and 0 is no reference: read each cell against the mean off-diagonal cosine (the typical "
    "pair), and a pair of tasks as related only where it stands out above it.")


def _settings_line(configs: list[RunConfig], setting: Callable[[RunConfig], object]) -> str:
    values = sorted({str(setting(c)) for c in configs})
    return ", ".join(values)


def source_commit(directory: str | Path = ".") -> str:
    """The git commit the workflow ran from, marked when tracked files differ from it (a report must say
    which code produced it)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def configuration_section(runs: list[FinishedRun], configfiles: list[str] | None = None,
                          commit: str | None = None) -> str:
    configs = [r.config for r in runs]
    datasets = sorted({r.dataset for r in runs})
    lines = [
        "| setting | value |", "|---|---|",
        f"| code (git commit) | {commit or source_commit()} |",
        f"| parameter files (later ones merged over earlier) | {' + '.join(configfiles or ['params.yaml'])} |",
        f"| encoder | {_settings_line(configs, lambda c: c.model.encoder)} |",
        f"| datasets | {', '.join(datasets)} |",
        f"| seeds | {', '.join(str(s) for s in sorted({r.seed for r in runs}))} |",
        f"| training fractions (%) | {', '.join(str(f) for f in sorted({r.fraction for r in runs}, reverse=True))} |",
        f"| experiments (experiment@variant: a named grid block) | {', '.join(sorted({r.label for r in runs}))} |",
        f"| runs aggregated | {len(runs)} |",
        f"| batch size | {_settings_line(configs, lambda c: c.train.batch_size)} |",
        f"| max length (sub-tokens) | {_settings_line(configs, lambda c: c.model.max_length)} |",
        f"| max test sentences | {_settings_line(configs, lambda c: c.max_test_sentences)} (None = whole test set) |",
    ]
    for dataset in datasets:
        subset = [r.config for r in runs if r.dataset == dataset]
        lines.append(f"| {dataset}: epochs / learning rate | {_settings_line(subset, lambda c: c.train.epochs)} / "
                     f"{_settings_line(subset, lambda c: c.train.learning_rate)} |")
    weights = sorted({str(r.config.train.loss_weights) for r in runs if r.experiment.startswith("joint")})
    if weights:
        lines.append(f"| joint loss weights | {'; '.join(weights)} |")
    return "\n".join(lines)


def taskemb_reading(similarity: pd.DataFrame) -> str:
    """TASKEMB_NOTE with the mean off-diagonal cosine of this matrix and the pairs above it."""
    names = list(similarity.index)
    values = similarity.to_numpy(dtype=float)
    pairs = [(values[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    if not pairs:
        return TASKEMB_NOTE
    mean = sum(v for v, _, _ in pairs) / len(pairs)
    above = sorted((p for p in pairs if p[0] > mean), reverse=True)
    listing = ", ".join(f"{a}/{b} {v:.3f}" for v, a, b in above[:6]) or "none"
    return (f"{TASKEMB_NOTE} Here the mean off-diagonal cosine is {mean:.3f} over {len(pairs)} pairs "
            f"(range {min(v for v, _, _ in pairs):.3f}–{max(v for v, _, _ in pairs):.3f}); above it: {listing}.")


def nest_headings(markdown: str, level: int = 3) -> str:
    """Shift the headings of an embedded Markdown file so that its top level becomes `level` (the page's own
    `## Tables` section stays above it)."""
    lines = markdown.splitlines()
    depths = [len(line) - len(line.lstrip("#")) for line in lines if line.startswith("#")]
    if not depths:
        return markdown
    shift = max(level - min(depths), 0)
    return "\n".join("#" * shift + line if line.startswith("#") else line for line in lines)


def _tsne_caption(coordinates: Path) -> str:
    """"; t-SNE of N embeddings" from the coordinates the figure was drawn from (none written: no t-SNE)."""
    if not coordinates.is_file():
        return ""
    points = len(pd.read_csv(coordinates))
    return f"; t-SNE of {points} embeddings" if points else ""


def _relative(path: Path, page: Path) -> str:
    return os.path.relpath(path, page.parent).replace(os.sep, "/")


def write_report(runs: list[FinishedRun], out: str | Path, tables_dir: str | Path, figures_dir: str | Path,
                 taskemb_dir: str | Path | None = None, configfiles: list[str] | None = None,
                 note: str | None = None) -> Path:
    page = Path(out)
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    frame = runs_frame(runs)
    verdicts_file = tables_dir / "verdicts.csv"
    verdicts = (pd.read_csv(verdicts_file, keep_default_na=True) if verdicts_file.is_file()
                else pd.DataFrame(columns=VERDICT_COLUMNS))
    gains_file = figures_dir / "figure5_gains.csv"
    gains = pd.read_csv(gains_file) if gains_file.is_file() else pd.DataFrame(
        columns=["dataset", "main", "secondary", "gain"])

    parts = [
        "# mtbioner report",
        "",
        f"Generated by mtbioner {__version__} on {_dt.date.today().isoformat()} from {len(runs)} runs. "
        "Scores are on the test set (entity-level seqeval for NER), mean ± sample std over seeds.",
        "",
        *([f"> **{note}**", ""] if note else []),
        "## Configuration",
        "",
        configuration_section(runs, configfiles),
        "",
        "## Summary (generated from the numbers)",
        "",
        generated_summary(frame, verdicts, gains),
        "## Tables",
        "",
    ]
    if (tables_dir / "table1.md").is_file():
        parts += [nest_headings((tables_dir / "table1.md").read_text(encoding="utf-8").strip()), ""]
    for name in TABLE_FILES:
        path = tables_dir / name
        if path.is_file():
            parts += [nest_headings(path.read_text(encoding="utf-8").strip()), ""]
            if name == "table5.md" and path.with_suffix(".html").is_file():
                parts += [f"Coloured versions: [HTML]({_relative(path.with_suffix('.html'), page)}), "
                          f"[LaTeX]({_relative(path.with_suffix('.tex'), page)}).", ""]
        elif name == "verdicts.md":
            parts += ["*verdicts: not produced in this configuration (no pre-registered claims in report.claims).*",
                      ""]
        else:
            parts += [f"*{name.removesuffix('.md')}: not produced in this configuration.*", ""]
    parts += ["## Figures", ""]
    for stem, title in FIGURES:
        title = title.format(tsne=_tsne_caption(figures_dir / "figure6_tsne.csv"))
        png = figures_dir / f"{stem}.png"
        if png.is_file():
            parts += [f"### {title}", "", f"![{title}]({_relative(png, page)})", "",
                      f"PDF: [{stem}.pdf]({_relative(png.with_suffix('.pdf'), page)})", ""]
        else:
            parts += [f"*{title}: not produced in this configuration.*", ""]
    if taskemb_dir is not None and (Path(taskemb_dir) / "similarity.csv").is_file():
        similarity = pd.read_csv(Path(taskemb_dir) / "similarity.csv", index_col=0)
        parts += ["### TaskEmb cosine similarities", "", similarity.round(3).to_markdown(), "",
                  taskemb_reading(similarity), ""]
    write_text(page, "\n".join(parts).rstrip() + "\n")
    return page
