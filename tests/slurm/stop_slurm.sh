#!/bin/bash
# Stop slurmd, slurmctld, munged started by start_slurm.sh (uses their pid files; no pkill).
# --purge: also wipe Slurm state/spool/logs so the next start is a clean cluster (job ids restart at 1).
scancel --user=root 2>/dev/null || true
wait_gone() {  # pid...
  for pid in "$@"; do
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
pids=()
for pidf in /run/slurmd.pid /run/slurmctld.pid; do
  [ -s "$pidf" ] && { pid="$(cat "$pidf")"; kill -TERM "$pid" 2>/dev/null && pids+=("$pid"); rm -f "$pidf"; }
done
wait_gone "${pids[@]}"
if [ -s /run/munge/munged.pid ]; then
  pid="$(cat /run/munge/munged.pid)"; kill -TERM "$pid" 2>/dev/null && wait_gone "$pid"
fi
# Remove the config start_slurm.sh wrote: with it left behind, every `scontrol` waits ~9 s for the
# stopped slurmctld, and the SLURM executor plugin runs `scontrol show config` each time snakemake
# starts (it probes MinJobAge), which made every later snakemake call 9 s slower.
if head -1 /etc/slurm/slurm.conf 2>/dev/null | grep -q "^# Minimal single-node Slurm"; then
  rm -f /etc/slurm/slurm.conf /etc/slurm/cgroup.conf
fi
if [ "${1:-}" = "--purge" ]; then
  rm -rf /var/spool/slurmctld/* /var/spool/slurmd/* /var/log/slurm/*
fi
