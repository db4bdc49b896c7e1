"""What the tagging stage (workflow/rules/tag.smk, target all_tag) reads and writes: the `tag:` parameters, the
input files they name, the model (a path, or a run of this configuration's grid) and the output layout
results/<name>/tagged/.

The `tag:` parameters are read as the typed `TagParams` of the configuration (`Params.tag`), as every other
section is (mtbioner.params.as_params).
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtbioner.errors import MtbionerError
from mtbioner.param_model import Params, TagParams
from mtbioner.params import as_params, results_root

#: The summary's file name inside results/<name>/tagged/ (an input of this name would collide with it).
SUMMARY = "summary.tsv"
#: Per-file statistics (`mtbioner predict --stats`) live in this hidden folder beside the outputs, which
#: input files can never reach (hidden files are not tagged).
STATS_FOLDER = ".stats"
#: dataset/experiment[@variant]/fraction/seed: a run of the grid, as `tag.model` may name one.
_GRID_RUN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)/([a-z][a-z0-9-]*(?:@[a-z0-9][a-z0-9-]*)?)/(\d+)/(\d+)$")


def tagging_on(settings: TagParams) -> bool:
    """Tagging is off while tag.model or tag.inputs is null (every preset leaves them so)."""
    return settings.model is not None and settings.inputs is not None


def grid_run_of(model: str, datasets: list[str]) -> tuple[str, str, int, int] | None:
    """(dataset, experiment[@variant], fraction, seed) when `model` names a run of the grid — the
    dataset/experiment/fraction/seed form with a dataset of this configuration — else None (a path)."""
    match = _GRID_RUN.match(model)
    if match is None or match.group(1) not in datasets:
        return None
    dataset, label, fraction, seed = match.groups()
    return dataset, label, int(fraction), int(seed)


def tag_run_key(config: Params | dict[str, Any]) -> tuple[str, str, int, int] | None:
    """The grid run `tag.model` names when tagging is on, else None: that run keeps its model
    (mtbioner.plan.grid) and the tagging jobs wait for it."""
    params = as_params(config)
    if not tagging_on(params.tag):
        return None
    return grid_run_of(params.tag.model, [*params.data.datasets, *params.data.custom_datasets])


def input_files(pattern: str) -> dict[str, str]:
    """Output name -> input path of every file `tag.inputs` names: a folder's files (not its subfolders) or a
    glob's matches (`**` recurses), sorted, hidden files skipped. Two inputs of one name, a name that is the
    summary's, or no file at all are errors (one line)."""
    folder = Path(pattern)
    if folder.is_dir():
        paths = [str(path) for path in folder.iterdir()]
    else:
        paths = glob.glob(pattern, recursive=True)
    files: dict[str, str] = {}
    for path in sorted(paths):
        name = Path(path).name
        if name.startswith(".") or not Path(path).is_file():
            continue
        if name == SUMMARY:
            raise MtbionerError(f"tag.inputs: {path}: an input may not be named {SUMMARY} (the summary's name)")
        if name in files:
            raise MtbionerError(f"tag.inputs: {files[name]} and {path} have the same file name; outputs keep "
                                "their input's name, so rename one or narrow the glob")
        files[name] = path
    if not files:
        raise MtbionerError(f"tag.inputs: {pattern!r} names no file (a folder of files or a glob)")
    return files


@dataclass(frozen=True)
class TagFiles:
    """Where the tagging stage writes in one results tree (`root`, e.g. results/paper)."""

    root: str

    @property
    def folder(self) -> str:
        return f"{self.root}/tagged"

    @property
    def summary(self) -> str:
        return f"{self.folder}/{SUMMARY}"

    def tagged(self, name: str) -> str:
        return f"{self.folder}/{name}"

    def stats(self, name: str) -> str:
        return f"{self.folder}/{STATS_FOLDER}/{name}.json"


def tag_files(config: Params | dict[str, Any]) -> TagFiles:
    return TagFiles(results_root(config))
