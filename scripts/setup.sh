#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for lskd, as root (no sudo needed) or as a user with sudo.
#   scripts/setup.sh        the embedded data (Fashion-MNIST, Ding de-en sentences) + lskd
#   scripts/setup.sh test   also what the tests need: chromium (report test), a single-node SLURM
#                           with munge (SLURM test), and lskd's test extras
# Run it inside the virtual environment you want lskd installed in (Python 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(dataset-fashion-mnist trans-de-en)
extras=""
if [ "${1:-}" = test ]; then
  debs+=(chromium slurmctld slurmd slurm-client munge)
  extras="[test]"
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/setup.sh [test]" >&2
  exit 2
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "ok installed" || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  # SLURM's recommends pull in a mail server and more; the rest keep theirs (chromium's fonts)
  slurm=() other=()
  for deb in "${missing[@]}"; do
    case "$deb" in slurm* | munge) slurm+=("$deb") ;; *) other+=("$deb") ;; esac
  done
  apt() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; }
  [ ${#other[@]} -eq 0 ] || apt "${other[@]}"
  [ ${#slurm[@]} -eq 0 ] || apt --no-install-recommends "${slurm[@]}"
fi

python3 -m pip install -q -e ".${extras}"
