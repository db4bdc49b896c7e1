#!/usr/bin/env bash
# Stop the daemons tests/slurm/start-slurm.sh started, by the pids it recorded (newest first), and restore
# the /etc/slurm/slurm.conf and gres.conf it replaced. Leaves the packages installed.
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
# gres.conf: put back one this script's start replaced, else remove the one it wrote.
if [[ -f $STATE/gres.conf.orig ]]; then
    mv "$STATE/gres.conf.orig" /etc/slurm/gres.conf
elif grep -qs "Written by mtbioner tests/slurm/start-slurm.sh" /etc/slurm/gres.conf; then
    rm -f /etc/slurm/gres.conf
fi
