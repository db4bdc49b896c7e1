#!/usr/bin/env bash
# Stop the daemons tests/slurm/start-slurm.sh started, by the pids it recorded (newest first), and restore
# an /etc/slurm/slurm.conf it replaced. Leaves the packages installed.
set -uo pipefail
STATE=${MTBIONER_SLURM_DIR:-/tmp/mtbioner-slurm}
if [[ ! -f $STATE/pids ]]; then
    echo "stop-slurm.sh: no $STATE/pids (nothing started)" >&2
    exit 0
fi
tac "$STATE/pids" | while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        echo "stopped $name ($pid)"
    fi
done
rm -f "$STATE/pids"
if [[ -f $STATE/slurm.conf.orig ]]; then
    mv "$STATE/slurm.conf.orig" /etc/slurm/slurm.conf
fi
