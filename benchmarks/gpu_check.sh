#!/usr/bin/env bash
# GPU check and throughput: teacher (fp32, bf16, fp16 and auto) and online-KD student on the full
# Fashion-MNIST, then the training tests, on whatever device torch finds. Needs the four idx
# files in $FMNIST (default .data/fashion-mnist) and PYTHONPATH=src or an installed lskd.
#   bash benchmarks/gpu_check.sh [OUTDIR]
set -euo pipefail
out=${1:-/tmp/lskd_gpu}
fmnist=${FMNIST:-.data/fashion-mnist}
mkdir -p "$out"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
python3 -m lskd curate --out "$out/data" \
  --spec "{\"kind\": \"fashion_mnist\", \"root\": \"$fmnist\", \"train_per_class\": null, \"val_per_class\": null}"
recipe='{"epochs": 2, "lr": 0.1, "batch_size": 256, "milestones": [], "warmup_epochs": 1}'
for precision in fp32 bf16 fp16 auto; do
  python3 -m lskd train-teacher --data "$out/data" --out "$out/teacher_$precision" --arch resnet50 \
    --alpha 0.1 --recipe "$recipe" --precision $precision --threads 8 | grep "^epoch\|^precision"
done
python3 -m lskd train-student --data "$out/data" --out "$out/student" --arch resnet18 \
  --teacher-model "$out/teacher_bf16/model.pt" --teacher-final "$out/teacher_bf16/final.json" \
  --recipe "$recipe" --threads 8 | grep "^epoch\|^precision"
python3 -m lskd evaluate --model "$out/teacher_bf16/model.pt" --final "$out/teacher_bf16/final.json" \
  --data "$out/data" --out "$out/eval"
cat "$out/eval/eval.json"
for run in teacher_fp32 teacher_bf16 teacher_fp16 teacher_auto student; do
  python3 -c "import pandas as pd; m = pd.read_csv('$out/$run/metrics.csv');
print('$run', 'images/s per epoch:', [round(60000 / s) for s in m.seconds])"
done
# the bill's throughput table (images/s per architecture at 224 px): lskd plan --throughput
python3 benchmarks/gpu_throughput.py --out "$out/throughput.json"
