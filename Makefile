# The README's two commands: `make quick` (install + the quick CPU preset of the whole DAG) and `make test`.
# Everything is installed into a project-local virtual environment, so a fresh machine needs only python3.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
CORES ?= 2
# Where the corpus comes from: empty = upstream at the pinned commit (params.yaml's data.source);
# otherwise a mirror directory or base URL, e.g. DATA_SOURCE=../shared/datasets/MTL-Bioinformatics-2016/data
DATA_SOURCE ?=
SOURCE_OVERRIDE := $(if $(DATA_SOURCE),--config 'data={source: $(DATA_SOURCE)}')
# Snakemake after an interruption: --rerun-incomplete redoes the jobs whose outputs were being written, and
# --show-failed-logs prints a failed job's log on the terminal (not only its path). The rules find the venv's
# `mtbioner` themselves (workflow/rules/common.smk puts Snakemake's interpreter first on PATH).
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES) --rerun-incomplete --show-failed-logs

.PHONY: install quick test lint unlock params
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

quick: install
	$(SNAKEMAKE) --configfile config/quick.yaml $(SOURCE_OVERRIDE)

# Two workers, one test file each at a time (module fixtures stay in one process): see pyproject.toml.
test: install
	$(BIN)/pytest -n 2 --dist loadfile

lint: install
	$(BIN)/snakemake --lint

# After a hard kill (kill -9, a lost terminal) Snakemake's lock stays behind: release it, when no other
# Snakemake is running in this directory, then `make quick` again.
unlock: install
	$(BIN)/snakemake --unlock --configfile config/quick.yaml

# After adding or changing a parameter in src/mtbioner/param_model.py (the one home of every default, range and
# help text): regenerate what is derived from it (the JSON Schema, config/paper.yaml, config/README.md's parameter
# reference; never edited by hand) and rewrite params.yaml (Hydra, as `dvc exp run -S` does); PARAMS='preset=quick train.epochs=3' composes another preset or value without running
# anything.
PARAMS ?=
params: install
	$(BIN)/python -m mtbioner.params $(PARAMS)
