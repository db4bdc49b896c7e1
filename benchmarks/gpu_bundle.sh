#!/usr/bin/env bash
# Packs what benchmarks/gpu_check.sh needs on a bare, offline GPU machine whose Python has torch, transformers,
# tokenizers, scikit-learn and PyYAML but not mtbioner's other dependencies. Run it here (PyPI reachable), then
# carry the bundle (default .gpu, git-ignored) beside the working tree: 51 MB, under the 64 MiB a device
# call may carry with the tree.
#
#   bash benchmarks/gpu_bundle.sh [--out DIR] [--no-wheels] [--python-version 3.12]
#
# --no-wheels leaves out the wheels (no network needed: tests/test_gpu_check.py builds the rest this way);
# --python-version is the GPU machine's CPython (the wheels are built for it, x86-64 Linux).
# $PYTHON is this project's interpreter; $MTBIONER_MIRROR the corpus mirror's root.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
MIRROR=${MTBIONER_MIRROR:-$PWD/../shared/datasets/MTL-Bioinformatics-2016}/data
OUT_DIR=.gpu WHEELS=1 PY_VERSION=3.12
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT_DIR=$2; shift 2 ;;
        --no-wheels) WHEELS=0; shift ;;
        --python-version) PY_VERSION=$2; shift 2 ;;
        *) echo "gpu_bundle.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR/minilm"

# 1. Python packages the GPU image lacks, at the versions installed here, built for its CPython on x86-64
#    (pydantic for RunConfig; seqeval is no longer imported by training, whose scorer computes it itself)
if [ "$WHEELS" = 1 ]; then
    mkdir -p "$OUT_DIR/wheels"
    version() { "$PYTHON" -c "import importlib.metadata as m; print(m.version('$1'))"; }
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$OUT_DIR/wheels" \
        "pydantic==$(version pydantic)" "pydantic-core==$(version pydantic_core)" \
        "annotated-types==$(version annotated_types)" "typing-inspection==$(version typing_inspection)" \
        "typing-extensions==$(version typing_extensions)"
fi

# 2. the corpus files the check reads, all three splits: BC2GM (the step's batches), NCBI-disease (the epoch)
#    and every dataset of params.yaml's grid (mtbioner.plan.cost counts their train ∪ devel and test sentences)
"$PYTHON" - "$MIRROR" "$OUT_DIR/corpus.tar.gz" <<'PY'
import sys
import tarfile
from pathlib import Path

from mtbioner.params import load_params

mirror, archive = Path(sys.argv[1]), Path(sys.argv[2])
datasets = sorted(set(load_params(".", validate=False)["data"]["datasets"]) | {"BC2GM", "NCBI-disease"})
with tarfile.open(archive, "w:gz") as tar:
    for dataset in datasets:
        for split in ("train", "devel", "test"):
            path = mirror / f"{dataset}-IOB" / f"{split}.tsv"
            if not path.is_file():
                sys.exit(f"gpu_bundle.sh: {path} missing (set MTBIONER_MIRROR to the corpus mirror's root)")
            tar.add(path, arcname=f"{dataset}-IOB/{split}.tsv")
print(f"corpus: {', '.join(datasets)} -> {archive}")
PY

# 3. all-MiniLM-L6-v2 with fp16 weights (gpu_check.py restores fp32 before training)
"$PYTHON" - "$OUT_DIR/minilm" <<'PY'
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from mtbioner.model.encoders import minilm_path

source, target = Path(minilm_path()), Path(sys.argv[1])
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    shutil.copy(source / name, target / name)
tensors = load_file(source / "model.safetensors")
save_file({name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
          target / "model.safetensors", metadata={"format": "pt"})
PY
du -sh "$OUT_DIR"
