#!/usr/bin/env bash
# The prepared device call (benchmarks/gpu_run.py says what it does): install the bundle with no index, then
# the slim GPU check, the GPU preset through Snakemake part by part, and the products packed into $OUT.
#
#   here:        .venv/bin/python benchmarks/gpu_bundle.py            # builds .gpu (git-ignored), ~2 min
#   the device:  command "bash benchmarks/gpu_run.sh", carry [".gpu"], timeout_s 580
#
# ONE call per session: the session's 15 minutes of device time include the machine's start (~4 min fresh) and
# a machine stays warm only 30 s after a call, so no second call fits. The deadline ($GPU_RUN_BUDGET) stops the
# part under way with SIGTERM (its trainings write checkpoints), leaves no Snakemake lock and still packs the
# archives. The same command on a machine that still holds this tree resumes from those checkpoints; a later
# session's call gets a bare machine, repeats the check and adds only what a preset of the missing parts names.
#
# $PYTHON (default python3: the image's, with torch and transformers), $GPU_BUNDLE (default .gpu), $OUT (the
# device tool's output folder; default results/device-out), $GPU_RUN_BUDGET (seconds from this script's
# start to the end of packing, default 540). Extra arguments go to gpu_run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
STARTED=$(date +%s)
PYTHON=${PYTHON:-python3}
BUNDLE=${GPU_BUNDLE:-.gpu}
SITE=${MTBIONER_SITE:-/tmp/mtbioner-site}
if [ ! -f "$BUNDLE/manifest.json" ]; then
    echo "gpu_run.sh: no bundle in $BUNDLE: build it with benchmarks/gpu_bundle.py and carry it" >&2
    exit 2
fi
if [ ! -f "$SITE/.installed" ]; then   # a call on a machine that ran one before finds it installed
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
        --target "$SITE" "$BUNDLE"/wheels/*.whl
    touch "$SITE/.installed"
fi
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} PATH=$SITE/bin:$PATH
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$PYTHON" benchmarks/gpu_run.py --bundle "$BUNDLE" --started "$STARTED" --budget "${GPU_RUN_BUDGET:-540}" "$@"
