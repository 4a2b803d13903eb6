#!/usr/bin/env bash
# The CPU benchmark table in one command: our CPU backend (JMH: bench's CpuStepBenchmark, CpuLossBenchmark) and
# the PyTorch peer (bench/peer/cpu_peer.py, /usr/bin/python3) on the same thread count, run alternating for
# --rounds rounds, all under one hold of flock /tmp/compress-bench.lock (so no other benchmark runs between ours and
# the peer's), with the load (uptime) recorded before and after each run;
# bench/report.py --cpu turns the raw results into the table. Build first: mvn -B -q package -DskipTests
#   scripts/cpu-bench.sh [--threads N] [--rounds R] [--widths 8,16,64] [--inputs 1x28,3x32] [--modes train,infer]
#                        [--no-loss] [--tune] [--archs resnet18,mobilenetv2] [--out DIR]
# --tune runs ours with convolution tuning on (COMPRESS_CPU_TUNE=1, like torch.backends.cudnn.benchmark; not
# bit-reproducible from run to run); the peer runs as always. --archs mobilenetv2 adds MobileNetV2 (width 1.0; --widths is
# ResNet-18's) on the same inputs and modes, in ours-mobilenetv2-rN.json beside ours-rN.json.
# Writes DIR/{ours-rN.json, peer-rN.jsonl, load.txt, table.md} (default bench/results/cpu-<date>) and prints the table.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
threads=$(nproc); rounds=2; widths=8,16,64; inputs=1x28,3x32; modes=train,infer; loss=1; tune=0; archs=resnet18
out=$here/bench/results/cpu-$(date -u +%Y-%m-%d)
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2;; --rounds) rounds=$2; shift 2;; --widths) widths=$2; shift 2;;
    --inputs) inputs=$2; shift 2;; --modes) modes=$2; shift 2;; --out) out=$2; shift 2;; --no-loss) loss=0; shift;; --tune) tune=1; shift;; --archs) archs=$2; shift 2;;
    *) echo "cpu-bench: unknown option $1" >&2; exit 2;;
  esac
done
jar=$here/bench/target/benchmarks.jar
[ -f "$jar" ] || { echo "cpu-bench: $jar missing; build first: mvn -B -q package -DskipTests" >&2; exit 2; }
mkdir -p "$out"
exec 9> /tmp/compress-bench.lock
flock 9
: > "$out/load.txt"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
       "$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo); threads: $threads"
  echo "command: scripts/cpu-bench.sh --threads $threads --rounds $rounds --widths $widths --inputs $inputs --modes $modes --archs $archs$([ "$tune" = 1 ] && echo " --tune")"
} >> "$out/load.txt"
jmh_params=(-p backend=cpu -p width="$widths" -p input="$inputs" -p mode="$modes")
run() {   # run NAME COMMAND...: the load before and after, into load.txt
  echo "$1 before: $(uptime)" >> "$out/load.txt"
  "${@:2}"
  echo "$1 after:  $(uptime)" >> "$out/load.txt"
}
export COMPRESS_THREADS=$threads
[ "$tune" = 1 ] && export COMPRESS_CPU_TUNE=1
for r in $(seq 1 "$rounds"); do
  benches=CpuStepBenchmark; [ "$loss" = 1 ] && benches="CpuStepBenchmark|CpuLossBenchmark"
  if [[ ",$archs," == *,resnet18,* ]]; then
    run "round $r ours" java -jar "$jar" "$benches" "${jmh_params[@]}" \
        -jvmArgsAppend "-Dcompress.threads=$threads" -rf json -rff "$out/ours-r$r.json" > "$out/ours-r$r.log" 2>&1
  fi
  if [[ ",$archs," == *,mobilenetv2,* ]]; then
    run "round $r ours mobilenetv2" java -jar "$jar" CpuStepBenchmark -p backend=cpu -p arch=mobilenetv2 -p width=1 \
        -p input="$inputs" -p mode="$modes" -jvmArgsAppend "-Dcompress.threads=$threads" -rf json \
        -rff "$out/ours-mobilenetv2-r$r.json" > "$out/ours-mobilenetv2-r$r.log" 2>&1
  fi
  peer_args=(--threads "$threads" --widths "$widths" --inputs "$inputs" --modes "$modes" --archs "$archs")
  [ "$loss" = 1 ] && peer_args+=(--loss)
  run "round $r PyTorch" /usr/bin/python3 "$here/bench/peer/cpu_peer.py" "${peer_args[@]}" \
      > "$out/peer-r$r.jsonl" 2> "$out/peer-r$r.log"
done
python3 "$here/bench/report.py" --cpu "$out" | tee "$out/table.md"
