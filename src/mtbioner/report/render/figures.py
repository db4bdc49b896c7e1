"""Figures 4, 5 and 6 (matplotlib, Agg backend), each written as PNG and PDF in one shared style.

Task scores plotted (Figures 4 and 5): NER and mtCLS = entity-level F1 (seqeval); bCLS and mCLS = macro-F1 by
default (`sentence_metric`), since the paper's Figure 4 puts an "F1-score" on the y-axis for every task and
macro-F1, unlike accuracy, is not flattered by the majority class (most sentences have 0 or 1 entity).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: cluster nodes and CI have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from mtbioner.atomicio import atomic_write  # noqa: E402
from mtbioner.errors import MtbionerError  # noqa: E402
from mtbioner.report.stats.aggregate import metric_value  # noqa: E402
from mtbioner.report.defaults import SENTENCE_METRIC  # noqa: E402
from mtbioner.run.directory import FinishedRun  # noqa: E402
from mtbioner.tasks import TASKS, display_name, get as get_task  # noqa: E402

#: One colour per task and one marker per dataset, used by every figure.
DATASET_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
SENTENCE_METRICS = ("macro_f1", "accuracy")


def use_style() -> None:
    plt.rcParams.update({
        "figure.dpi": 150, "savefig.dpi": 200, "savefig.bbox": "tight", "font.size": 10,
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False, "pdf.fonttype": 42,
    })


def save_figure(figure: Any, out_prefix: str | Path) -> list[Path]:
    """`<prefix>.png` and `<prefix>.pdf`, each written atomically."""
    paths = []
    for ext in ("png", "pdf"):
        path = Path(out_prefix).with_suffix(f".{ext}")
        with atomic_write(path, "wb") as handle:
            figure.savefig(handle, format=ext)
        paths.append(path)
    plt.close(figure)
    return paths


def score_path(task: str, sentence_metric: str = SENTENCE_METRIC) -> tuple[str, str]:
    if sentence_metric not in SENTENCE_METRICS:
        raise MtbionerError(f"sentence metric {sentence_metric!r}: expected one of {SENTENCE_METRICS}")
    word_level = get_task(task).level == "word"
    return (task, get_task(task).headline) if word_level else (task, sentence_metric)


def score_label(task: str, sentence_metric: str = SENTENCE_METRIC) -> str:
    metric = "F1" if get_task(task).level == "word" else {"macro_f1": "macro-F1", "accuracy": "accuracy"}[sentence_metric]
    return f"{display_name(task)} {metric}"


# ------------------------------------------------------------------------------------------------- Figure 4
def describe_curve_runs(runs: Sequence[FinishedRun]) -> dict[str, str]:
    """Per dataset, what its curve is drawn from, from the runs' config: label(s), fraction(s), seeds and the
    configured epochs — `joint-max@x4, 10 % data, 40 epochs configured, 3 seeds (13, 42, 87)`."""
    out = {}
    for dataset in sorted({r.dataset for r in runs}):
        mine = [r for r in runs if r.dataset == dataset]
        labels = ", ".join(sorted({r.label for r in mine}))
        fractions = ", ".join(f"{f}" for f in sorted({r.fraction for r in mine}, reverse=True))
        epochs = ", ".join(str(e) for e in sorted({r.config.train.epochs for r in mine}))
        seeds = sorted({r.seed for r in mine})
        # "seed 13" / "2 seeds (1, 2)": a lone seed must not read as a count of seeds
        seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})"
        out[dataset] = f"{labels}, {fractions} % data, {epochs} epochs configured, {seed_text}"
    return out


def figure4_from_curves(curves: Mapping[str, Sequence[Mapping[str, float]]], out_prefix: str | Path,
                        sentence_metric: str = SENTENCE_METRIC, experiment: str = "joint-max",
                        described: Mapping[str, str] | None = None) -> list[Path]:
    """Per dataset (key of `curves`, e.g. read from results/metrics/curves/<dataset>.csv): the test score of
    each task after every epoch (mean over seeds, band = ± sample std over seeds where there are several).
    Each panel's title says how many epochs it shows (the curve's rows) and, with `described` (per dataset,
    `describe_curve_runs`), which runs they come from: the workflow draws the longest budget the grid has."""
    if not curves:
        raise MtbionerError(f"Figure 4 needs the learning curves of {experiment} runs; none given")
    datasets = sorted(curves)
    use_style()
    figure, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False, sharey=True,
                                layout="constrained")
    for ax, dataset in zip(axes[0], datasets):
        rows = curves[dataset]
        for task in TASKS:
            column = "_".join(score_path(task, sentence_metric))
            points = [row for row in rows if not math.isnan(row.get(column, math.nan))]
            if not points:
                continue
            x = np.array([row["epoch"] for row in points])
            mean = np.array([row[column] for row in points]) * 100
            std = np.array([row.get(f"{column}_std", math.nan) for row in points]) * 100
            ax.plot(x, mean, marker="o" if len(points) < 15 else None, markersize=3, color=get_task(task).colour,
                    label=score_label(task, sentence_metric))
            if not np.isnan(std).all():
                ax.fill_between(x, mean - std, mean + std, color=get_task(task).colour, alpha=0.2, linewidth=0)
        shown = len({row["epoch"] for row in rows})
        detail = (described or {}).get(dataset)
        ax.set_title(f"{dataset}: {shown} epochs shown" + (f"\n({detail})" if detail else ""), fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("test score (%)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    if handles:  # below the panels, not inside one, where it would hide points of the curves
        figure.legend(handles, labels, loc="outside lower center", ncol=len(handles))
    figure.suptitle(f"Figure 4: per-epoch test scores of {experiment} (longest training budget)")
    return save_figure(figure, out_prefix)


# ------------------------------------------------------------------------------------------------- Figure 5
def pairwise_gains(runs: list[FinishedRun], sentence_metric: str = SENTENCE_METRIC) -> pd.DataFrame:
    """Rows dataset, main, secondary, pair_score, single_score, gain (percentage points; seed means)."""
    def mean_score(dataset: str, experiment: str, task: str) -> float:
        values = [metric_value(r.metrics, score_path(task, sentence_metric)) for r in runs
                  if r.dataset == dataset and r.experiment == experiment and r.fraction == 100 and not r.variant]
        values = [v for v in values if not math.isnan(v)]
        return float(np.mean(values)) * 100 if values else math.nan

    rows = []
    tasks = [task for task in TASKS if any(task in r.tasks for r in runs)]  # the runs' tasks, canonical order
    for dataset in sorted({r.dataset for r in runs}):
        for main in tasks:
            single = mean_score(dataset, f"single-{main}", main)
            for secondary in tasks:
                if secondary == main:
                    continue
                pair = mean_score(dataset, f"pair-{main}-{secondary}", main)
                rows.append({"dataset": dataset, "main": main, "secondary": secondary, "pair_score": pair,
                             "single_score": single, "gain": pair - single})
    return pd.DataFrame(rows, columns=["dataset", "main", "secondary", "pair_score", "single_score", "gain"])


def figure5(gains: pd.DataFrame, out_prefix: str | Path, sentence_metric: str = SENTENCE_METRIC) -> list[Path]:
    """Per dataset a heat-map over the tasks of the gains (4×4 for the paper's): y = main task, x = secondary task, cell = gain over the single-task model;
    the diagonal shows the single-task score itself (grey)."""
    datasets = [d for d in gains["dataset"].unique() if gains.loc[gains["dataset"] == d, "gain"].notna().any()]
    if not datasets:
        raise MtbionerError("Figure 5 needs pair-<main>-<secondary> and single-<task> runs; none given")
    use_style()
    finite = gains["gain"].abs().replace([np.inf], np.nan).dropna()
    limit = max(float(finite.max()) if len(finite) else 1.0, 0.1)
    tasks = [task for task in TASKS if task in set(gains["main"]) | set(gains["secondary"])]
    names = [display_name(t) for t in tasks]
    figure, axes = plt.subplots(1, len(datasets), figsize=(3.9 * len(datasets) + 1.2, 4.0), squeeze=False,
                                layout="constrained")
    image = None
    for ax, dataset in zip(axes[0], datasets):
        part = gains[gains["dataset"] == dataset]
        matrix = np.full((len(tasks), len(tasks)), np.nan)
        for _, row in part.iterrows():
            matrix[tasks.index(row["main"]), tasks.index(row["secondary"])] = row["gain"]
        image = ax.imshow(matrix, cmap="RdBu", vmin=-limit, vmax=limit)
        for i, main in enumerate(tasks):
            for j in range(len(tasks)):
                if i == j:
                    single = part.loc[part["main"] == main, "single_score"]
                    value = float(single.iloc[0]) if len(single) else math.nan
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="#dddddd"))
                    ax.text(j, i, "–" if math.isnan(value) else f"{value:.1f}", ha="center", va="center",
                            fontsize=8, color="#555555")
                elif not math.isnan(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:+.2f}", ha="center", va="center", fontsize=8,
                            color="white" if abs(matrix[i, j]) > 0.6 * limit else "black")
        ax.set_xticks(range(len(tasks)), names)
        ax.set_yticks(range(len(tasks)), names)
        ax.set_xlabel("secondary task")
        ax.grid(False)
        ax.set_title(dataset)
    axes[0][0].set_ylabel("main task")
    if image is not None:
        figure.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="gain over single-task (pp)")
    metric = {"macro_f1": "macro-F1", "accuracy": "accuracy"}[sentence_metric]
    figure.suptitle(f"Figure 5: main-task score with a secondary task − single-task score\n"
                    f"(NER/mtCLS F1, bCLS/mCLS {metric}; grey diagonal: single-task score)", fontsize=10)
    return save_figure(figure, out_prefix)


def write_figure5(runs: list[FinishedRun], out_prefix: str | Path, *, sentence_metric: str) -> list[Path]:
    """`<prefix>_gains.csv` (the `pairwise_gains` table) and Figure 5 drawn from it (`<prefix>.png`, `.pdf`)."""
    from mtbioner.atomicio import write_text

    gains = pairwise_gains(runs, sentence_metric=sentence_metric)
    gains_csv = Path(f"{out_prefix}_gains.csv")
    write_text(gains_csv, gains.to_csv(index=False, float_format="%.4f"))
    return [*figure5(gains, out_prefix, sentence_metric=sentence_metric), gains_csv]


# ------------------------------------------------------------------------------------------------- Figure 6
#: Fewest task embeddings a t-SNE is drawn from. A t-SNE of a handful of points shows nothing a distance
#: matrix does not (4 points come out as a near-square, every neighbour at the same distance); below this
#: Figure 6 shows the cosine matrix only.
MIN_TSNE_POINTS = 8


def default_perplexity(n: int) -> float:
    """min(5, (n − 1) / 3): t-SNE's affinities use the 3 × perplexity nearest neighbours, which must exist
    (3 × perplexity < n); the paper's 12 embeddings get 3.67, so each point's neighbourhood spans the other
    datasets' version of its task and a few more."""
    return float(min(5.0, max(n - 1, 1) / 3))


def tsne_coordinates(vectors: np.ndarray, perplexity: float | None = None, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE

    n = len(vectors)
    perplexity = default_perplexity(n) if perplexity is None else perplexity
    if n < MIN_TSNE_POINTS:
        raise MtbionerError(f"a t-SNE needs at least {MIN_TSNE_POINTS} task embeddings, got {n}")
    if not 0 < 3 * perplexity < n:
        raise MtbionerError(f"t-SNE perplexity {perplexity} needs 3 x perplexity < {n} (the number of embeddings)")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine")
    return tsne.fit_transform(np.asarray(vectors, dtype=np.float64))


#: Figure 6's note on reading the cosines (squared-gradient vectors: see mtbioner.report.render.page.TASKEMB_NOTE).
COSINE_NOTE = ("squared gradients are non-negative, so every cosine is > 0: compare with the mean off-diagonal "
               "cosine (dashed in the colour bar), not with 0")


def figure6(labels: Sequence[tuple[str, str]], coordinates: np.ndarray | None, out_prefix: str | Path,
            perplexity: float | None, similarity: np.ndarray | None = None) -> list[Path]:
    """Scatter of the t-SNE coordinates (colour = task, marker = dataset, each point labelled dataset-task)
    beside the cosine similarities they come from; `coordinates` None (fewer than MIN_TSNE_POINTS
    embeddings): the cosine matrix alone, and the figure says why."""
    use_style()
    datasets = sorted({d for d, _ in labels})
    if coordinates is None and similarity is None:
        raise MtbionerError("Figure 6 needs t-SNE coordinates or a similarity matrix")
    panels = (coordinates is not None) + (similarity is not None)
    figure, axes = plt.subplots(1, panels, figsize=(6.8 * panels, 5.4), squeeze=False, layout="constrained")
    if coordinates is not None:
        _tsne_panel(axes[0][0], labels, coordinates, datasets, perplexity)
    if similarity is not None:
        _cosine_panel(figure, axes[0][-1], labels, similarity)
    if coordinates is None:
        figure.suptitle(f"Figure 6: TaskEmb task space — cosine similarities of {len(labels)} task embeddings "
                        f"(no t-SNE: it needs at least {MIN_TSNE_POINTS})\n{COSINE_NOTE}", fontsize=9)
    else:
        figure.suptitle(f"Figure 6: TaskEmb task space\n{COSINE_NOTE}", fontsize=9)
    return save_figure(figure, out_prefix)


def _tsne_panel(ax: Any, labels: Sequence[tuple[str, str]], coordinates: np.ndarray, datasets: list[str],
                perplexity: float | None) -> None:
    for (dataset, task), (x, y) in zip(labels, coordinates):
        ax.scatter(x, y, s=70, color=get_task(task).colour, marker=DATASET_MARKERS[datasets.index(dataset) % 7],
                   edgecolors="black", linewidths=0.5)
        ax.annotate(f"{dataset}-{display_name(task)}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    task_handles = [plt.Line2D([], [], marker="o", linestyle="", color=get_task(t).colour, label=display_name(t))
                    for t in TASKS if any(t == task for _, task in labels)]
    dataset_handles = [plt.Line2D([], [], marker=DATASET_MARKERS[i % 7], linestyle="", color="grey", label=d)
                       for i, d in enumerate(datasets)]
    ax.legend(handles=task_handles + dataset_handles, loc="best", fontsize=8)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(f"t-SNE (cosine, perplexity {perplexity:g})")


def mean_off_diagonal(similarity: np.ndarray) -> float:
    """The mean cosine of two different task embeddings: the reference a cell of Figure 6 is read against."""
    n = len(similarity)
    if n < 2:
        return math.nan
    return float((np.sum(similarity) - np.trace(similarity)) / (n * (n - 1)))


def _cosine_panel(figure: Any, heat: Any, labels: Sequence[tuple[str, str]], similarity: np.ndarray) -> None:
    names = [f"{d}-{display_name(t)}" for d, t in labels]
    low = float(np.min(similarity))
    image = heat.imshow(similarity, cmap="viridis", vmin=low, vmax=1.0)
    heat.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    heat.set_yticks(range(len(names)), names, fontsize=7)
    heat.grid(False)
    if len(names) <= 16:
        for i in range(len(names)):
            for j in range(len(names)):
                heat.text(j, i, f"{similarity[i, j]:.2f}", ha="center", va="center", fontsize=6,
                          color="black" if similarity[i, j] > 0.6 * (1 + low) else "white")
    reference = mean_off_diagonal(similarity)
    heat.set_title(f"cosine similarity (mean off-diagonal {reference:.3f})")
    bar = figure.colorbar(image, ax=heat, shrink=0.8)
    if math.isfinite(reference):
        bar.ax.axhline(reference, color="white", linestyle="--", linewidth=1.2)


def write_figure6(embedding_files: Sequence[str | Path], out_prefix: str | Path, similarity_out: str | Path, *,
                  perplexity: float | None, seed: int) -> tuple[int, float]:
    """Figure 6 from TaskEmb outputs (`mtbioner.report.embedding.taskemb.write_taskemb`): the cosine-similarity matrix as CSV
    (`similarity_out`), the t-SNE coordinates (`<prefix>_tsne.csv`; its header only below MIN_TSNE_POINTS
    embeddings, where no t-SNE is drawn) and the figure (`<prefix>.png`, `.pdf`). Returns the number of
    embeddings and the perplexity used (None: `default_perplexity`; NaN: no t-SNE)."""
    from mtbioner.atomicio import write_text
    from mtbioner.report.stats.similarity import cosine_similarity_matrix, read_task_embeddings

    labels, matrix = read_task_embeddings(embedding_files)
    names = [f"{d}-{t}" for d, t in labels]
    cosine = cosine_similarity_matrix(matrix)
    write_text(Path(similarity_out), pd.DataFrame(cosine, index=names, columns=names).to_csv(float_format="%.6f"))
    n = len(labels)
    if n >= MIN_TSNE_POINTS:
        chosen = default_perplexity(n) if perplexity is None else perplexity
        coordinates = tsne_coordinates(matrix, perplexity=chosen, seed=seed)
        frame = pd.DataFrame({"dataset": [d for d, _ in labels], "task": [t for _, t in labels],
                              "x": coordinates[:, 0], "y": coordinates[:, 1]})
    else:  # a t-SNE of so few points would be a picture of nothing: the cosine matrix alone
        chosen, coordinates = math.nan, None
        frame = pd.DataFrame(columns=["dataset", "task", "x", "y"])
    write_text(Path(f"{out_prefix}_tsne.csv"), frame.to_csv(index=False, float_format="%.5f"))
    figure6(labels, coordinates, out_prefix, perplexity=chosen, similarity=cosine)
    return n, chosen
