# Helpers of the workflow: target lists and per-rule values, all derived from mtbioner.plan.grid so that the grid
# is expanded in one place. Functions only (snakemake --lint wants rules and functions in separate files).

import json
import os
import re
import shlex
import sys
from pathlib import Path

from mtbioner.plan import grid
from mtbioner.data.corpus import OwnCorpusOptions, check_dataset_name, check_own_corpora, corpus_datasets
from mtbioner.data.files import SPLITS
from mtbioner.errors import MtbionerError
from mtbioner.run.directory import RunFiles, run_path
from mtbioner.params import as_params, results_root
from mtbioner.tasks import TASKS
from mtbioner.data.subsample import draw_seed
from mtbioner.data.corpus import table1_datasets


# Rules call the `mtbioner` CLI. Put the interpreter running Snakemake first on PATH, so that
# `.venv/bin/snakemake ...` works without activating the venv (a conda env of a rule still goes first).
envvars:
    "PATH",


os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

def stop(message):
    """End the DAG's parse with one line on stderr (Snakemake would print an exception with its frames)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def unset_environment_resources():
    """Default resources whose value still names an environment variable ("$NAME"): a profile's setting whose
    variable is unset (profiles/slurm reads the partition from $MTBIONER_SLURM_PARTITION), which would be
    submitted as the literal text. Read from the resources' `name=value` arguments (their values can only be
    evaluated inside a rule), which keep "$NAME" until Snakemake expands them."""
    resources = workflow.resource_settings.default_resources
    found = {}
    for argument in getattr(resources, "args", None) or []:
        name, _, value = str(argument).partition("=")
        if re.search(r"\$\{?[A-Za-z_]", os.path.expandvars(value)):  # a variable left unexpanded: unset
            found[name] = value
    return found


for _name, _value in unset_environment_resources().items():
    stop(f"resource {_name} is {_value!r}: set that environment variable (e.g. export "
         f"{_value.strip('${}')}=gpu) before running with this profile")


# The configuration Snakemake merged and validated (the Snakefile), as the typed parameters
# (mtbioner.param_model.Params): every helper below and every rule reads its settings as attributes of PARAMS.
PARAMS = as_params(config)

# Everything this configuration writes lives in its own results tree, results/<name> (parameter `name`), so that
# one preset's runs are never replanned by another's (mtbioner.params.results_root).
RESULTS = results_root(PARAMS)


def results_path(path):
    """`path` inside this configuration's results tree: results_path("data/{dataset}/test.jsonl")."""
    return f"{RESULTS}/{path}"


# The prepared-data folder of a dataset as Snakemake patterns (mtbioner.data.files, the layout's one home):
# DATA for a rule's own {dataset} wildcard; DATA_IN_EXPAND keeps it a wildcard inside expand().
DATA = grid.data_files(PARAMS, "{dataset}")
DATA_IN_EXPAND = grid.data_files(PARAMS, "{{dataset}}")


# One run directory as Snakemake patterns (its layout's one home: mtbioner.run.directory); {experiment} carries
# a variant as experiment@variant (the Snakefile's wildcard constraint).
RUN = RunFiles(Path(run_path(RESULTS, "{dataset}", "{experiment}", "{fraction}", "{seed}")))


def raw_files(files):
    """The raw split files and the manifest of `files` (a DataFiles): what download and import write."""
    return [*(files.raw(split) for split in SPLITS), files.manifest]


CUSTOM_DATASETS = PARAMS.data.custom_datasets
try:
    # A dataset that is neither in the corpus nor an own corpus fails first, with the closest name, instead of
    # as a grid error or a "missing input" deep in the DAG.
    for _name in PARAMS.data.datasets:
        check_dataset_name(_name, own=CUSTOM_DATASETS, where="data.datasets")
    # An own corpus' files are read when the DAG is built: a broken line stops here, naming file and line.
    check_own_corpora({name: entry.model_dump() for name, entry in CUSTOM_DATASETS.items()})
    RUNS = grid.expand_grid(PARAMS)
except MtbionerError as _error:
    stop(_error)
DATASETS = grid.datasets(PARAMS)
FRACTIONS = grid.fractions(PARAMS)
TABLE1 = multiext(results_path("tables/table1"), ".md", ".tex", ".csv")


def regex_alternatives(names):
    """A wildcard constraint matching exactly these names (one that never matches when there are none)."""
    return "|".join(re.escape(name) for name in names) if names else "(?!)"


def corpus_dataset_names():
    """Datasets `download` can fetch: the corpus' own names that are not shadowed by an own corpus."""
    return [name for name in corpus_datasets() if name not in CUSTOM_DATASETS]


def table1_inputs():
    names = table1_datasets(DATASETS)
    return [path for name in names for path in (grid.data_files(PARAMS, name).train, grid.data_files(PARAMS, name).test)]


def output_prefix(wildcards, output):
    """`results/paper/tables/table1` of `results/paper/tables/table1.md`: the --out-prefix of a multi-format table."""
    return os.path.splitext(output[0])[0]


def prepared_data_root(wildcards, input):
    """`results/<name>/data` of `results/<name>/data/<dataset>/train.jsonl`: Table 1's --data-dir, from its inputs."""
    return os.path.dirname(os.path.dirname(input[0]))


def table1_datasets_arg():
    return ",".join(table1_datasets(DATASETS))


def download_source(wildcards, output):
    """data.source for `download`: where the bytes come from, which is not a parameter of them. `mtbioner
    download` verifies every file against the SHA-256 digests of the pinned commit, so any source yields the
    same outputs, and manifest.json records which one served them. Taking `output` makes it a param derived
    from the outputs, which Snakemake leaves out of its params rerun trigger: a source switch (upstream <->
    a mirror) reruns neither the download nor anything after it (tests/test_dvc.py)."""
    return PARAMS.data.source


def custom_corpus_files(wildcards):
    """Input files of an own corpus; devel is optional (train alone is then the training set)."""
    entry = CUSTOM_DATASETS[wildcards.dataset]
    return {split: getattr(entry, split) for split in ("train", "devel", "test") if getattr(entry, split)}


def custom_corpus_options(wildcards, input):
    """The split files, then the entry's format and type options (mtbioner.data.corpus.OwnCorpusOptions)."""
    options = OwnCorpusOptions.from_entry(CUSTOM_DATASETS[wildcards.dataset].model_dump()).cli_args()
    files = [f"--{split} {shell_quote(path)}" for split, path in input.items()]
    return " ".join(files + [shell_quote(arg) for arg in options])


def shell_quote(text):
    return shlex.quote(str(text))


def run_config_json(wildcards):
    """The run's RunConfig (built by the grid) as JSON for `mtbioner train --config-json`; as a param, a
    changed value reruns exactly the runs it affects (Snakemake's params trigger)."""
    run = grid.find_run(PARAMS, wildcards.dataset, wildcards.experiment, wildcards.fraction, wildcards.seed)
    return json.dumps(run.config.to_json_dict(), sort_keys=True)


def all_metrics():
    return [run.metrics_file for run in RUNS]


def curve_datasets():
    """Datasets whose grid has runs that score every epoch for Figure 4's curves (mtbioner.plan.grid.curve_runs)."""
    return [d for d in DATASETS if grid.curve_runs(PARAMS, d)]


def curve_files():
    return expand(results_path("metrics/curves/{dataset}.csv"), dataset=curve_datasets())


def curve_runs(wildcards):
    """metrics.json of every seed of the runs one dataset's learning curve is drawn from."""
    return [run.metrics_file for run in grid.curve_runs(PARAMS, wildcards.dataset)]


def train_inputs(wildcards):
    """What one training run reads: its RunConfig's data files (a per-seed draw with data.subsample_per_seed)."""
    run = grid.find_run(PARAMS, wildcards.dataset, wildcards.experiment, wildcards.fraction, wildcards.seed)
    return {"train": run.config.train_file, "test": run.config.test_file, "labels": run.config.labels_file}


def subsample_seed_of(wildcards):
    """The permutation seed of one training seed's own nested draw (mtbioner.data.subsample.draw_seed)."""
    return draw_seed(PARAMS.data.subsample_seed, int(wildcards.seed))


# Suffixes of the files Snakemake's report shows: the readable (Markdown, HTML, PNG) and the data (CSV) form
# of each table and figure; LaTeX and PDF are for papers and stay out of it.
REPORT_SUFFIXES = (".md", ".html", ".csv", ".png")


def in_report(paths, category, subcategory, caption):
    """`paths` (one path or a list, e.g. a multiext) with those of a REPORT_SUFFIXES suffix marked for
    `snakemake --report results/<name>/report.zip`: shown under category > subcategory, with the caption
    workflow/report/<caption>.rst. Marks copies, so a shared list such as TABLE1 stays unflagged as input."""
    if isinstance(paths, str):
        return in_report([paths], category, subcategory, caption)[0]
    marked = []
    for path in map(str, paths):
        if path.endswith(REPORT_SUFFIXES):
            path = report(path, caption=f"../report/{caption}.rst", category=category, subcategory=subcategory)
        marked.append(path)
    return marked


def parameter_files_options():
    """`--configfile` options naming params.yaml and then the command line's overlays (in merge order),
    relative to the working directory, so report.md names no machine path."""
    files = ["params.yaml", *(os.path.relpath(path) for path in workflow.overwrite_configfiles)]
    return " ".join(f"--configfile {shell_quote(path)}" for path in files)


# Tagging a corpus (workflow/rules/tag.smk, target all_tag): the `tag:` parameters, read once
# (PARAMS.tag, mtbioner.param_model.TagParams). Tagging is off while tag.model or tag.inputs is null; when it is on, a
# broken setting (no input file, a model that is neither a directory nor a run of the grid) stops here.
from mtbioner.plan.tag import grid_run_of, input_files, tag_files, tagging_on

TAG = PARAMS.tag
TAGGED = tag_files(PARAMS)
TAG_FILES = {}  # output name -> input path
TAG_RUN = None  # the grid run whose model tags, when tag.model names one
if tagging_on(TAG):
    try:
        TAG_FILES = input_files(TAG.inputs)
        _key = grid_run_of(TAG.model, [*PARAMS.data.datasets, *CUSTOM_DATASETS])
        if _key is not None:
            try:
                TAG_RUN = grid.find_run(PARAMS, *_key)
            except MtbionerError as _missing:
                raise MtbionerError(f"tag.model: {_missing}") from None
        elif not os.path.isdir(TAG.model):
            raise MtbionerError(f"tag.model: {TAG.model} is neither a model directory nor a run of this "
                                "configuration's grid (dataset/experiment/fraction/seed)")
    except MtbionerError as _error:
        stop(_error)


def tag_targets(wildcards):
    """What all_tag builds; asking for it with tagging off is an error naming the parameters."""
    if not tagging_on(TAG):
        stop("target all_tag needs tag.model and tag.inputs (config/README.md, `tag`)")
    return [TAGGED.tagged(name) for name in TAG_FILES] + [TAGGED.summary]


def tag_inputs(wildcards):
    """The input file of one tagging job, and what the model comes from: the grid run's metrics.json (written
    after its model, so the job waits for the training) or the model directory itself."""
    model = TAG_RUN.metrics_file if TAG_RUN is not None else TAG.model
    return {"source": TAG_FILES[wildcards.file], "model": model}


def tag_model_dir():
    return TAG_RUN.run_dir if TAG_RUN is not None else TAG.model


def tag_stats_files():
    return [TAGGED.stats(name) for name in TAG_FILES]
