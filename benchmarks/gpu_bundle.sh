#!/usr/bin/env bash
# Packs into .gpu/ (git-ignored) what benchmarks/gpu_check.sh needs on a bare, offline GPU machine whose Python
# has torch, transformers, tokenizers, scikit-learn and PyYAML but not mtbioner's other dependencies. Run it here
# (PyPI reachable), then carry .gpu to the GPU machine beside the working tree. About 55 MB: under the 64 MiB
# a device call may carry. $PYTHON is this project's interpreter; $MTBIONER_MIRROR the corpus mirror's root.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
MIRROR=${MTBIONER_MIRROR:-$PWD/../shared/datasets/MTL-Bioinformatics-2016}/data
rm -rf .gpu
mkdir -p .gpu/wheels .gpu/data .gpu/minilm

# 1. Python packages the GPU image lacks, at the versions installed here, built for its CPython 3.12 on x86-64
version() { "$PYTHON" -c "import importlib.metadata as m; print(m.version('$1'))"; }
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels \
    "pydantic==$(version pydantic)" "pydantic-core==$(version pydantic_core)" \
    "annotated-types==$(version annotated_types)" "typing-inspection==$(version typing_inspection)" \
    "typing-extensions==$(version typing_extensions)"
"$PYTHON" -m pip wheel -q --no-deps -w .gpu/wheels "seqeval==$(version seqeval)"   # sdist only on PyPI

# 2. the corpus files the check reads: BC2GM (batches), NCBI-disease (the epoch), train/devel of the paper's
#    datasets (their sizes, for the GPU-hours)
for dataset in BC2GM BC5CDR-chem NCBI-disease; do
    mkdir -p ".gpu/data/$dataset-IOB"
    cp "$MIRROR/$dataset-IOB/train.tsv" "$MIRROR/$dataset-IOB/devel.tsv" ".gpu/data/$dataset-IOB/"
done
cp "$MIRROR/NCBI-disease-IOB/test.tsv" .gpu/data/NCBI-disease-IOB/

# 3. all-MiniLM-L6-v2 with fp16 weights (gpu_check.py restores fp32 before training)
"$PYTHON" - <<'PY'
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from mtbioner.model.encoders import minilm_path

source, target = Path(minilm_path()), Path(".gpu/minilm")
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    shutil.copy(source / name, target / name)
tensors = load_file(source / "model.safetensors")
save_file({name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
          target / "model.safetensors", metadata={"format": "pt"})
PY
du -sh .gpu
