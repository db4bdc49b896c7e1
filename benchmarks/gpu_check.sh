#!/usr/bin/env bash
# GPU check (benchmarks/gpu_check.py): the real training step of a BERT-base-shaped MultiTaskModel in fp32 and
# bf16 (MFU against the peak and a matmul ceiling measured here), evaluation throughput, cheap per-step levers,
# one MiniLM NCBI-disease epoch through the trainer, K = 1, 2, 4, 8 trainings packed on the GPU, and the paper
# preset's GPU-hours through mtbioner.plan.cost. Needs one CUDA GPU, no network; ends within 8 minutes
# (timeout $GPU_CHECK_TIMEOUT seconds, default 480, 0 = none); the JSON report is rewritten after every phase.
# Extra arguments go to gpu_check.py (e.g. --phases, --pack, --skip-cuda). See benchmarks/README.md, "GPU check".
#
# The check alone; the prepared device call (benchmarks/gpu_run.sh) runs it before the pipeline. What a bare GPU
# machine lacks travels in the bundle $GPU_BUNDLE (default .gpu, git-ignored; made by benchmarks/gpu_bundle.py):
#   wheels/*.whl      Python packages missing there, installed into /tmp if pydantic is missing
#   corpus.tar.gz     <NAME>-IOB/{train,devel,test}.tsv of every dataset the check and params.yaml's grid read
#   minilm/           all-MiniLM-L6-v2 with fp16 weights (the fp32 package is over the transfer limit)
# $PYTHON picks the interpreter (default python3); with $OUT set, the JSON goes to $OUT/gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BUNDLE=${GPU_BUNDLE:-.gpu}
if ! "$PYTHON" -c "import pydantic" 2> /dev/null && compgen -G "$BUNDLE/wheels/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/mtbioner-gpu-site "$BUNDLE"/wheels/*.whl
    export PYTHONPATH=/tmp/mtbioner-gpu-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
args=()
if [ -f "$BUNDLE/corpus.tar.gz" ]; then
    corpus=$(mktemp -d "${TMPDIR:-/tmp}/mtbioner-gpu-corpus.XXXXXX")
    trap 'rm -rf "$corpus"' EXIT
    "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter="data")' \
        "$BUNDLE/corpus.tar.gz" "$corpus"
    args+=(--mirror "$corpus")
fi
if [ -d "$BUNDLE/minilm" ]; then args+=(--ncbi-encoder "$BUNDLE/minilm"); fi
if [ -n "${OUT:-}" ]; then args+=(--out "$OUT/gpu_check.json"); fi
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" benchmarks/gpu_check.py "${args[@]}" "$@"   # 0: no limit
