#!/bin/bash
# Start a single-node Slurm 22.05 cluster (munge + slurmctld + slurmd) on localhost, for
# tests/test_slurm.py. Debian 12, as root, no systemd needed; .ci/run installs the packages
# (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge).
# Safe to rerun after stop_slurm.sh.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

# --- munge -------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then            # normally created by munge's postinst
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  for i in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null   # fail loudly if munge is not working

# --- slurm.conf ----------------------------------------------------------
HOST="$(hostname -s)"
MEM_TOTAL="$(free -m | awk '/^Mem:/{print $2}')"
MEM=$(( MEM_TOTAL > 2048 ? MEM_TOTAL - 1024 : MEM_TOTAL / 2 ))
# node line = real topology from `slurmd -C` (NodeName=<hostname -s> CPUs= Boards= Sockets... RealMemory=)
NODELINE="$(slurmd -C | head -1 | sed -e "s/RealMemory=[0-9]*/RealMemory=$MEM/") NodeAddr=127.0.0.1 State=UNKNOWN"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
sed -e "s/@HOST@/$HOST/g" -e "s|^@NODELINE@\$|$NODELINE|" \
  "$HERE/slurm.conf.template" > /etc/slurm/slurm.conf
cp "$HERE/cgroup.conf" /etc/slurm/cgroup.conf

# --- daemons -------------------------------------------------------------
# both daemonize themselves and write /run/slurm{ctld,d}.pid; on init failure they exit !=0 and
# the reason is only in the log file, so dump it instead of dying silently under set -e.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/slurmctld.pid || slurmctld || { tail -30 /var/log/slurm/slurmctld.log; exit 1; }
running /run/slurmd.pid    || slurmd    || { tail -30 /var/log/slurm/slurmd.log; exit 1; }

# wait until the node is idle
for i in $(seq 120); do
  state="$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)"
  [ "$state" = "idle" ] && break
  sleep 0.5
done
sinfo -N -l
[ "$state" = "idle" ] || { echo "node not idle (state=$state)"; tail -20 /var/log/slurm/*.log; exit 1; }
