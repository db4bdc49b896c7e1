#!/usr/bin/env bash
# GPU check (benchmarks/gpu_check.py): BERT-base-shaped training throughput and MFU in fp32 and bf16, one MiniLM
# NCBI-disease epoch through the real trainer, and the paper preset's estimated GPU-hours. Needs one CUDA GPU,
# no network; ends within 8 minutes (timeout $GPU_CHECK_TIMEOUT seconds, default 480, 0 = none). Extra
# arguments go to gpu_check.py (e.g. --peak-flops, --steps, --skip-cuda). See benchmarks/README.md, "GPU check".
#
# What a bare GPU machine lacks travels in .gpu/ (git-ignored; made here by benchmarks/gpu_bundle.sh):
#   .gpu/wheels/*.whl   Python packages missing there (pydantic, seqeval), installed into /tmp if missing
#   .gpu/data/          the corpus files used (<NAME>-IOB/*.tsv), when no prepared results/data/ travels
#   .gpu/minilm/        all-MiniLM-L6-v2 with fp16 weights (the fp32 package is over the transfer limit)
# $PYTHON picks the interpreter (default python3); with $OUT set, the JSON goes to $OUT/gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import pydantic, seqeval" 2> /dev/null && compgen -G ".gpu/wheels/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/mtbioner-gpu-site .gpu/wheels/*.whl
    export PYTHONPATH=/tmp/mtbioner-gpu-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
args=()
if [ -d .gpu/minilm ]; then args+=(--ncbi-encoder .gpu/minilm); fi
if [ -n "${OUT:-}" ]; then args+=(--out "$OUT/gpu_check.json"); fi
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" benchmarks/gpu_check.py "${args[@]}" "$@"   # 0: no limit
