#!/usr/bin/env bash
# On a machine with a GPU: what `precision: auto` chooses there, every architecture's training
# images/s at 224 px (the bill's throughput table), the bill of configs/paper.yaml from it, and a
# short training run on miniature ImageNet files in auto and in fp16 (loss scaling).
#   bash benchmarks/gpu_bill.sh [OUTDIR]     (PYTHONPATH=src or an installed lskd)
set -euo pipefail
out=${1:-results/gpu}
mkdir -p "$out"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
python3 benchmarks/gpu_throughput.py --seconds 4 --out "$out/throughput.json"
python3 -m lskd plan --configfile configs/paper.yaml --throughput "$out/throughput.json" \
  --out "$out/bill.md"
python3 -m lskd.miniature "$out/mini" --classes 5 --train 40 --val 10 > /dev/null
python3 -m lskd curate --out "$out/data" \
  --spec "{\"kind\": \"image_folder\", \"root\": \"$out/mini/imagenet\", \"image_size\": 64}"
recipe='{"epochs": 2, "lr": 0.05, "batch_size": 32, "milestones": [1]}'
for precision in auto fp16; do
  python3 -m lskd train-teacher --data "$out/data" --out "$out/teacher_$precision" \
    --arch resnet50 --alpha 0.1 --recipe "$recipe" --precision $precision \
    --probe-cache "$out/hardware.json" --threads 4 --no-tensorboard 2>&1 | grep -v "it/s"
  python3 -c "import json; p = json.load(open('$out/teacher_$precision/final.json'))['provenance'];
print('$precision ->', p['precision'], '|', p['precision_choice']['why'])"
done
