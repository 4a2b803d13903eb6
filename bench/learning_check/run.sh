#!/usr/bin/env bash
# The learning check: k-NN top-1 (k = 1 / 20) of pixels, teacher and student on the full 10,000-image Fashion-MNIST test
# set, for our pipeline (bin/compress train, the embedded demo's settings) and the same pipeline in PyTorch
# (torch_pipeline.py: the official loops, torchvision's init and transforms), each at random initialisation
# (--moco-epochs 0 --epochs 0) and trained (MoCo v2 2 epochs, CompRess-2q 2 epochs on 4,000 images), over seeds.
# Usage (after `mvn -B -q package -DskipTests`): bench/learning_check/run.sh [--random-only] [--out FILE] [SEED ...]
# (default seeds 0 1 2). Writes one line per run, with the load seen, to FILE (default
# bench/results/<date>-learning-check.jsonl) and prints the summary (bench/learning_check/report.py). Slow on 2 cores
# (~10 min a seed; --random-only: the random-initialisation rows alone, ~1 min a seed); timing only under the shared lock.
# --ours-only skips the PyTorch runs; COMPRESS=LAUNCHER runs another build's bin/compress and OURS_SIDE=LABEL names
# its rows (default "ours"): together they put an older build beside the current one.
# With LC_TEACHER=FILE (a teacher written by `compress pretrain`, e.g. models/fashion-mnist-teacher.safetensors) both
# sides load that teacher instead of pretraining one (--moco-epochs 0), so the student's CompRess-2q movement is
# compared from the same strong teacher (default FILE then ...-learning-check-given-teacher.jsonl); LC_TRAIN_IMAGES and
# LC_EPOCHS change the student's images and epochs. LC_SHARED_INIT=1 (with LC_TEACHER) starts PyTorch's student from
# ours at random initialisation for the same seed (our random run's student.safetensors, --student-init), so both
# sides' students start from the same weights and their movements can be compared seed by seed (a paired check: the
# spread of random initialisations, 57-72 % k = 1 on either side, cancels).
set -euo pipefail
cd "$(dirname "$0")/../.."
random_only=0
ours_only=0
out="bench/results/$(date -u +%F)-learning-check${LC_TEACHER:+-given-teacher}.jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    --random-only) random_only=1; shift ;;
    --ours-only) ours_only=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(0 1 2)
common=(--train-images "${LC_TRAIN_IMAGES:-4000}" --epochs "${LC_EPOCHS:-2}")
if [ -n "${LC_TEACHER:-}" ]; then common+=(--teacher-checkpoint "$LC_TEACHER" --moco-epochs 0); fi
side="${OURS_SIDE:-ours}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
run_ours() { # seed, label, extra options
  local dir="$tmp/ours-$1-$2"
  mkdir -p "$dir"
  local load
  load="$(uptime | sed 's/.*load average: //')"
  "${COMPRESS:-bin/compress}" train --seed "$1" --test-images 0 --out "$dir" "${common[@]}" "${@:3}" > "$dir/log.txt" 2>&1
  /usr/bin/python3 - "$dir" "$1" "$2" "$load" "$side" >> "$out" <<'PY'
import glob, json, sys
d, seed, label, load, side = sys.argv[1:]
s = json.load(open(glob.glob(d + "/*/summary.json")[0]))
print(json.dumps({"side": side, "seed": int(seed), "stage": label, "knn_top1": s["knn_top1"], "seconds": round(s["seconds"], 1),
                  "load_before": load}))
PY
}
run_torch() { # seed, label, extra options
  local load
  load="$(uptime | sed 's/.*load average: //')"
  /usr/bin/python3 bench/learning_check/torch_pipeline.py --seed "$1" --test-images 0 "${common[@]}" "${@:3}" \
    | /usr/bin/python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['stage']='$2'; r['load_before']='$load'; print(json.dumps(r))" >> "$out"
}
echo "{\"command\": \"${LC_SHARED_INIT:+LC_SHARED_INIT=1 }${LC_TEACHER:+LC_TEACHER=$LC_TEACHER }bench/learning_check/run.sh $([ $random_only = 1 ] && echo '--random-only ')$([ $ours_only = 1 ] && echo '--ours-only ')${seeds[*]}\", \"common\": \"${common[*]}\", \"ours_side\": \"$side\", \"ours_launcher\": \"${COMPRESS:-bin/compress}\", \"date\": \"$(date -u +%FT%TZ)\", \"cpus\": $(nproc), \"load_before\": \"$(uptime | sed 's/.*load average: //')\"}" >> "$out"
for s in "${seeds[@]}"; do
  if [ -n "${LC_SHARED_INIT:-}" ]; then
    [ -n "${LC_TEACHER:-}" ] || { echo "LC_SHARED_INIT needs LC_TEACHER (the teacher both sides load)" >&2; exit 2; }
    run_ours "$s" random --moco-epochs 0 --epochs 0
    init="$(ls "$tmp/ours-$s-random"/*/checkpoints/student.safetensors)"
    [ $ours_only = 1 ] || run_torch "$s" random --moco-epochs 0 --epochs 0 --student-init "$init"
    [ $ours_only = 1 ] || [ $random_only = 1 ] || run_torch "$s" trained --student-init "$init"
    [ $random_only = 1 ] || run_ours "$s" trained
    echo "seed $s done ($(date -u +%T))"
    continue
  fi
  [ $ours_only = 1 ] || run_torch "$s" random --moco-epochs 0 --epochs 0
  [ $ours_only = 1 ] || [ $random_only = 1 ] || run_torch "$s" trained
  run_ours "$s" random --moco-epochs 0 --epochs 0
  [ $random_only = 1 ] || run_ours "$s" trained
  echo "seed $s done ($(date -u +%T))"
done
/usr/bin/python3 bench/learning_check/report.py "$out"
