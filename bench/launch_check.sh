#!/usr/bin/env bash
# `compress distill` on one process beside `compress launch --nproc-per-node 2 distill` (without and with synchronised
# BN, COMPRESS_SYNC_BN=1), same settings and seed, then `compress eval knn` of each student (60,000 references, the
# 10,000 test images): does the data-parallel run give the single-process result? CPU backend, shipped teacher.
# Usage (after `mvn -B -q package -DskipTests`): bench/launch_check.sh [SEED ...] (default 0 1 2 3); prints one line
# per run: variant, seed, exit code, the last logged loss, NN and 20-NN top-1. Work files in $TMPDIR/launch-check.
set -u
cd "$(dirname "$0")/.."
C=bin/compress
T=models/fashion-mnist-teacher.safetensors
out="${TMPDIR:-/tmp}/launch-check"; rm -rf "$out"; mkdir -p "$out"
seeds=("$@"); [ ${#seeds[@]} -eq 0 ] && seeds=(0 1 2 3)
for seed in "${seeds[@]}"; do
  common="--teacher $T --arch resnet18 --width 8 --method 2q --epochs 2 --train-images 4000 --test-images 0 --batch-size 128 --queue 4096 --lr 0.05 --seed $seed"
  echo "seed $seed load $(uptime | sed 's/.*load average: //')"
  for v in single launch2 syncbn; do
    case $v in   # each variant uses the machine's two cores: one process with 2 threads, or 2 ranks with 1 each
      single) $C distill $common --threads 2 --out "$out/$v-$seed" > "$out/$v-$seed.log" 2>&1 ;;
      launch2) $C launch --nproc-per-node 2 distill $common --threads 1 --out "$out/$v-$seed" > "$out/$v-$seed.log" 2>&1 ;;
      syncbn) COMPRESS_SYNC_BN=1 $C launch --nproc-per-node 2 distill $common --threads 1 --out "$out/$v-$seed" > "$out/$v-$seed.log" 2>&1 ;;
    esac
    rc=$?
    s=$(ls "$out/$v-$seed"/*/checkpoints/student.safetensors 2>/dev/null | head -1)
    loss=$(grep -oE "step [0-9]+: loss [0-9.]+" "$out/$v-$seed.log" | tail -1)
    if [ -n "$s" ]; then
      $C eval knn --model "$s" --arch resnet18 --width 8 --train-images 0 --test-images 0 --out "$out/eval-$v-$seed" > "$out/eval-$v-$seed.log" 2>&1
      echo "$v seed $seed rc $rc $loss :: $(grep -E "^  (nn|knn20) " "$out/eval-$v-$seed.log" | tr -s " " | tr "\n" " ")"
    else
      echo "$v seed $seed rc $rc (no student)"
    fi
  done
done
