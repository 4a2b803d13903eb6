#!/usr/bin/env bash
# The learning check: k-NN top-1 (k = 1 / 20) of pixels, teacher and student on the full 10,000-image Fashion-MNIST test
# set, for our pipeline (bin/compress train, the embedded demo's settings) and the same pipeline in PyTorch
# (torch_pipeline.py: the official loops, torchvision's init and transforms), each at random initialisation
# (--moco-epochs 0 --epochs 0) and trained (MoCo v2 2 epochs, CompRess-2q 2 epochs on 4,000 images), over seeds.
# Usage (after `mvn -B -q package -DskipTests`): bench/learning_check/run.sh [SEED ...]   (default 0 1 2)
# With LC_TEACHER=FILE (a teacher written by `compress pretrain`, e.g. models/fashion-mnist-teacher.safetensors) both
# sides load that teacher instead of pretraining one (--moco-epochs 0), so the student's CompRess-2q movement is
# compared from the same strong teacher; LC_TRAIN_IMAGES and LC_EPOCHS change the student's images and epochs.
# Writes bench/results/<date>-learning-check.jsonl (one line per run, with the load seen) and prints the summary
# (bench/learning_check/report.py). Slow on 2 cores (~10 min a seed); timing only under the shared lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(0 1 2)
out="bench/results/$(date -u +%F)-learning-check${LC_TEACHER:+-given-teacher}.jsonl"
common=(--train-images "${LC_TRAIN_IMAGES:-4000}" --epochs "${LC_EPOCHS:-2}")
if [ -n "${LC_TEACHER:-}" ]; then common+=(--teacher-checkpoint "$LC_TEACHER" --moco-epochs 0); fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
run_ours() { # seed, label, extra options
  local dir="$tmp/ours-$1-$2"
  mkdir -p "$dir"
  local load
  load="$(uptime | sed 's/.*load average: //')"
  bin/compress train --seed "$1" --test-images 0 --out "$dir" "${common[@]}" "${@:3}" > "$dir/log.txt" 2>&1
  /usr/bin/python3 - "$dir" "$1" "$2" "$load" >> "$out" <<'PY'
import glob, json, sys
d, seed, label, load = sys.argv[1:]
s = json.load(open(glob.glob(d + "/*/summary.json")[0]))
print(json.dumps({"side": "ours", "seed": int(seed), "stage": label, "knn_top1": s["knn_top1"], "seconds": round(s["seconds"], 1),
                  "load_before": load}))
PY
}
run_torch() { # seed, label, extra options
  local load
  load="$(uptime | sed 's/.*load average: //')"
  /usr/bin/python3 bench/learning_check/torch_pipeline.py --seed "$1" --test-images 0 "${common[@]}" "${@:3}" \
    | /usr/bin/python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['stage']='$2'; r['load_before']='$load'; print(json.dumps(r))" >> "$out"
}
echo "{\"command\": \"${LC_TEACHER:+LC_TEACHER=$LC_TEACHER }bench/learning_check/run.sh ${seeds[*]}\", \"common\": \"${common[*]}\", \"date\": \"$(date -u +%FT%TZ)\", \"cpus\": $(nproc), \"load_before\": \"$(uptime | sed 's/.*load average: //')\"}" >> "$out"
for s in "${seeds[@]}"; do
  run_torch "$s" random --moco-epochs 0 --epochs 0
  run_torch "$s" trained
  run_ours "$s" random --moco-epochs 0 --epochs 0
  run_ours "$s" trained
  echo "seed $s done ($(date -u +%T))"
done
/usr/bin/python3 bench/learning_check/report.py "$out"
