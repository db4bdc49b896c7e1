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

.PHONY: install quick test lint unlock params test-pythons
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

# Users' Pythons (README, "Which Pythons"): for each interpreter of PYTHONS, its own venv (.venv-<python>)
# installed as a user installs (torch from PyPI: the regular CUDA build), then the fast subset (-m "not slow").
# The GPU image's Python (IMAGE_PYTHON, 3.12) installs under the image's pinned versions (benchmarks/device/
# image-packages.txt; not its torch 2.11 and the triton that goes with it: mtbioner pins torch 2.13) and also
# runs the device-call rehearsal (tests/test_gpu_run.py) there. Before a release, not in CI: docs/SPEED.md
# has its cost.
# With pyenv: PYENV_VERSION=3.12.1:3.13.0 make test-pythons
PYTHONS ?= python3.12 python3.13
IMAGE_PYTHON ?= python3.12
test-pythons:
	@missing=; for py in $(PYTHONS); do $$py -c '' > /dev/null 2>&1 || missing="$$missing $$py"; done; \
	if [ -n "$$missing" ]; then echo "make test-pythons: no working$$missing on PATH (PYTHONS= names others;" \
	    "with pyenv: PYENV_VERSION=<3.12.x>:<3.13.x> make test-pythons)" >&2; exit 2; fi
	@set -e; for py in $(PYTHONS); do \
	    venv=.venv-$$py; pins=; \
	    if [ $$py = "$(IMAGE_PYTHON)" ]; then \
	        pins="--constraint $$venv/image-pins.txt"; \
	    fi; \
	    if [ ! $$venv/.installed -nt pyproject.toml ] || [ ! $$venv/.installed -nt benchmarks/device/image-packages.txt ]; then \
	        rm -rf $$venv; $$py -m venv $$venv; \
	        grep '==' benchmarks/device/image-packages.txt | grep -v '^#' | grep -Ev '^(torch|triton)==' > $$venv/image-pins.txt; \
	        $$venv/bin/python -m pip install --quiet --upgrade pip; \
	        $$venv/bin/python -m pip install --quiet $$pins -e ".[dev]"; \
	        touch $$venv/.installed; \
	    fi; \
	    echo "make test-pythons: $$($$venv/bin/python --version), the fast subset$${pins:+ at the image's versions}"; \
	    $$venv/bin/pytest -m "not slow" -n 2 --dist loadfile -p no:cacheprovider -q; \
	    if [ -n "$$pins" ]; then $$venv/bin/pytest -p no:cacheprovider -q tests/test_gpu_run.py; fi; \
	done

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
