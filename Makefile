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
# The venv's tools (mtbioner, snakemake, dvc) first on PATH for the rules' shell commands.
RUN := PATH="$(BIN):$$PATH"

.PHONY: install quick test lint params
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

quick: install
	$(RUN) snakemake --cores $(CORES) --configfile config/quick.yaml $(SOURCE_OVERRIDE)

test: install
	$(RUN) pytest

lint: install
	$(RUN) snakemake --lint

# Rewrite params.yaml from config/ (Hydra, as `dvc exp run -S` does) after editing config/paper.yaml;
# PARAMS='preset=quick train.epochs=3' composes another preset or value without running anything.
PARAMS ?=
params: install
	$(RUN) python -m mtbioner.params $(PARAMS)
