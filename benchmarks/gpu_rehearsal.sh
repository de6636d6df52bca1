#!/usr/bin/env bash
# The rehearsal of configs/paper.yaml on a machine with GPUs: the paper's whole DAG on miniature
# data at 224 px (64 training images per class, batch 32), CUDA, precision auto (bf16 where it is
# the fastest), every training job data-parallel over all the machine's GPUs (torchrun, the
# `train` group's gpu); then, per architecture, training images/s and the fraction of each epoch
# spent waiting for batches (metrics.csv: data_seconds / seconds), as `lskd plan` would want.
#   bash benchmarks/gpu_rehearsal.sh [OUTDIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:-/tmp/lskd_gpu_rehearsal}
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
[ "$gpus" -ge 1 ] || { echo "no GPU here: run the CPU rehearsal instead (README, Paper scale)"; exit 1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m lskd.rehearsal "$out" --train 64 --val 16 --image-size 224 --batch 32 --steps 0
python3 - "$out/rehearsal.yaml" "$gpus" "$(nproc)" <<'EOF'
import sys, yaml
path, gpus, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = yaml.safe_load(open(path))
config["resources"]["train"]["gpu"] = gpus
config["threads"] = max(1, cores // gpus)  # loader workers per rank
yaml.safe_dump(config, open(path, "w"), sort_keys=False)
EOF
cd "$out"
start=$(date +%s)
snakemake -s "$root/Snakefile" --cores "$(nproc)" --resources gpu="$gpus" --keep-going \
  --configfile rehearsal.yaml
echo "whole rehearsal: $(( $(date +%s) - start )) s on $gpus GPU(s)"
python3 - <<'EOF'
import json
from pathlib import Path
import pandas as pd
rows = []
for final in Path("results").glob("*/*/*/seed*/final.json"):
    record, metrics = json.loads(final.read_text()), final.parent / "metrics.csv"
    if "dataset" not in record:  # a translation run
        continue
    info = json.loads(Path(f"results/data/{record['dataset']}/dataset.json").read_text())
    m = pd.read_csv(metrics) if metrics.is_file() else None
    if m is None or "data_seconds" not in m or m.epoch.max() < 1:
        continue
    m = m[m.epoch > 1] if len(m) > 1 else m  # the first epoch starts the loaders and kernels
    rows.append({"arch": record["arch"], "precision": record["provenance"].get("precision"),
                 "images/s": info["counts"]["train"] / m.seconds.mean(),
                 "waiting for data": (m.data_seconds / m.seconds).mean()})
table = pd.DataFrame(rows).groupby(["arch", "precision"]).median().round(2)
print(table.to_string())
EOF
