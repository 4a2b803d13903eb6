#!/usr/bin/env bash
# Data-parallel benchmark on this machine's CPUs (Gloo over loopback): all-reduce bandwidth and the CompRess step's
# scaling, for 1 and 2 processes, under the machine-wide benchmark lock; writes bench/results/<date>-cpu-dist.{jsonl,md}.
#   bench/dist-bench.sh            (after mvn -B -q package -DskipTests)
# "2 procs x 1 core" gives each process one core (-XX:ActiveProcessorCount=1) so that 1 and 2 processes share the
# same cores: its step throughput against "1 proc x all cores" is the scaling efficiency on a fixed machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
jar="$here/bench/target/benchmarks.jar"
[ -f "$jar" ] || { echo "dist-bench: $jar missing; build with mvn -B -q package -DskipTests" >&2; exit 2; }
day=$(date -u +%Y-%m-%d)
out="$here/bench/results/$day-cpu-dist.jsonl"
java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
run() {   # run NPROC MODE LABEL [JVM options...]
  local n=$1 mode=$2 label=$3; shift 3
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local pids=()
  for ((r = 0; r < n; r++)); do
    RANK=$r WORLD_SIZE=$n LOCAL_RANK=$r LOCAL_WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      "$java_bin" -Xmx2g "$@" -cp "$jar" org.compress.bench.DistBench "$mode" 2>/dev/null \
      | sed -e "s/^{/{\"config\":\"$label\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",/" >>"$out" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
exec 9>/tmp/compress-bench.lock
flock 9
echo "# $(date -u) $(uptime)" >>"$out"
run 2 allreduce "2 procs"
run 1 step "1 proc x all cores"
run 2 step "2 procs x all cores"
run 1 step "1 proc x 1 core" -XX:ActiveProcessorCount=1
run 2 step "2 procs x 1 core" -XX:ActiveProcessorCount=1
echo "# done $(date -u) $(uptime)" >>"$out"
cat "$out"
