#!/usr/bin/env bash
# Start a single-node SLURM cluster *with accounting* on this machine, for tests/slurm/test_slurm.py.
# Debian 12, run as root, no systemd needed (every daemon is started here and stopped by stop-slurm.sh).
#
#   sudo tests/slurm/start-slurm.sh            # installs packages if missing, starts the daemons
#   MTBIONER_SLURM_PARTITION=debug pytest -m slurm tests/slurm
#   sudo tests/slurm/stop-slurm.sh
#
# Daemons: munged (as user munge), a private mariadbd on 127.0.0.1 with its own datadir, slurmdbd, slurmctld,
# slurmd. State, logs and pid files live in $MTBIONER_SLURM_DIR (default /tmp/mtbioner-slurm).
# Facts this relies on (measured on this kind of machine, see profiles/README.md):
# - slurm.conf must be at /etc/slurm/slurm.conf: the executor plugin's job step drops SLURM_CONF;
# - without accounting the plugin's default sacct polling never sees a job finish, hence slurmdbd;
# - cgroup plugins do not work in a container: proctrack/linuxproc, task/none (test cluster only);
# - the node declares one GPU with /dev/null as its device file, shared as two shards (gres/shard): SLURM
#   schedules and accounts both (sacct AllocTRES gres/gpu=1, gres/shard=1), so a test can check what a job
#   asks for and that two shard jobs run at once; nothing runs on a GPU.
set -euo pipefail

STATE=${MTBIONER_SLURM_DIR:-/tmp/mtbioner-slurm}
PARTITION=${MTBIONER_SLURM_PARTITION:-debug}
DB_PORT=${MTBIONER_SLURM_DB_PORT:-3306}
DB_PASS=slurm-test-only
HOST=$(hostname -s)

if [[ $(id -u) -ne 0 ]]; then
    echo "start-slurm.sh: run as root (it installs packages and starts daemons)" >&2
    exit 2
fi
if [[ -f $STATE/pids ]]; then
    echo "start-slurm.sh: $STATE/pids exists; run tests/slurm/stop-slurm.sh first" >&2
    exit 2
fi

log() { echo "[start-slurm $(date +%T)] $*"; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq "$((seconds * 4))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "start-slurm.sh: $what did not come up within ${seconds}s; logs in $STATE" >&2
    tail -n 20 "$STATE"/*.log >&2 || true
    exit 1
}

# --- packages ---------------------------------------------------------------------------------------------
packages=()
command -v munged >/dev/null || packages+=(munge)
command -v slurmctld >/dev/null || packages+=(slurmctld)
command -v slurmd >/dev/null || packages+=(slurmd)
command -v sbatch >/dev/null || packages+=(slurm-client)
command -v slurmdbd >/dev/null || packages+=(slurmdbd)
command -v mariadbd >/dev/null || packages+=(mariadb-server mariadb-client)
if ((${#packages[@]})); then
    log "installing ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d 101: the packages must not try to start services (there is no init system to do it).
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
fi

mkdir -p "$STATE"/{slurmctld,slurmd,mysql} /etc/slurm /run/munge /var/log/munge /var/lib/munge
: > "$STATE/pids"

# --- munge ------------------------------------------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key"
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key && chmod 755 /run/munge
runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid --force
wait_for 10 munged test -s /run/munge/munged.pid
echo "munged $(cat /run/munge/munged.pid)" >> "$STATE/pids"
wait_for 10 "munge credential" bash -c "munge -n | unmunge"

# --- private MariaDB on 127.0.0.1 for slurmdbd -------------------------------------------------------------
log "starting mariadbd on 127.0.0.1:$DB_PORT"
if [[ ! -d $STATE/mysql/mysql ]]; then
    mariadb-install-db --user=root --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
        --skip-test-db >"$STATE/mariadb-install.log" 2>&1
fi
mariadbd --user=root --datadir="$STATE/mysql" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --socket="$STATE/mysql.sock" --pid-file="$STATE/mariadbd.pid" --log-error="$STATE/mariadbd.log" \
    --skip-name-resolve >/dev/null 2>&1 &
wait_for 30 mariadbd mariadb --socket="$STATE/mysql.sock" -e "SELECT 1"
echo "mariadbd $(cat "$STATE/mariadbd.pid")" >> "$STATE/pids"
mariadb --socket="$STATE/mysql.sock" <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL

# --- slurm configuration ----------------------------------------------------------------------------------
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)
for conf in slurm.conf gres.conf; do
    [[ -f /etc/slurm/$conf && ! -f $STATE/$conf.orig ]] && cp "/etc/slurm/$conf" "$STATE/$conf.orig"
done
cat > /etc/slurm/slurm.conf <<CONF
# Written by mtbioner tests/slurm/start-slurm.sh (single-node test cluster); stop-slurm.sh restores the old one.
ClusterName=mtbioner
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu,gres/shard
GresTypes=gpu,shard
MinJobAge=600
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb Gres=gpu:1,shard:2 State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/gres.conf <<CONF
# Written by mtbioner tests/slurm/start-slurm.sh: one schedulable GPU without a device (test cluster only),
# shared as two shards (profiles/slurm-shared).
NodeName=$HOST Name=gpu File=/dev/null
NodeName=$HOST Name=shard Count=2 File=/dev/null
CONF
cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
CONF
chmod 600 /etc/slurm/slurmdbd.conf

# --- slurm daemons ----------------------------------------------------------------------------------------
log "starting slurmdbd, slurmctld, slurmd"
slurmdbd
wait_for 30 slurmdbd bash -c "exec 3<>/dev/tcp/127.0.0.1/6819"
echo "slurmdbd $(cat "$STATE/slurmdbd.pid")" >> "$STATE/pids"
slurmctld
wait_for 30 slurmctld scontrol ping
echo "slurmctld $(cat "$STATE/slurmctld.pid")" >> "$STATE/pids"
slurmd
wait_for 30 slurmd test -s "$STATE/slurmd.pid"
echo "slurmd $(cat "$STATE/slurmd.pid")" >> "$STATE/pids"
# A node drained by an earlier start (state is kept in $STATE/slurmctld) stays drained: resume it; a node
# still failing its checks (e.g. its GPU slot) is drained again at registration and the wait below fails.
scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
wait_for 60 "node $HOST idle" bash -c "sinfo -h -N -o %T | grep -qx idle"
# slurmctld registers the cluster in slurmdbd itself; root needs an association to submit.
wait_for 30 "cluster registration" bash -c "sacctmgr -n -P list cluster format=cluster | grep -qx mtbioner"
sacctmgr -i add account mtbioner Cluster=mtbioner Description=tests >/dev/null 2>&1 || true
sacctmgr -i add user root Account=mtbioner DefaultAccount=mtbioner >/dev/null 2>&1 || true
log "cluster up: partition $PARTITION on $HOST ($(nproc) CPUs, ${mem_mb} MB, 1 GPU slot, 2 shards); sacct works: $(sacct -n -X | wc -l) jobs"
