#!/usr/bin/env bash
# Validation + timing sweep of the loss kernels on the GPU of this machine: builds the lab if needed, runs the
# CPU-only selftest, every CompRess variant at the default shape (B=256, K=128000, D=128) for F32 and BF16 banks,
# 1q and 2q, odd/ragged shapes through the production path, the InfoNCE lab, and the row-wise/bank helpers.
# Exits non-zero if any validation failed (the log says which). Usage: [ARCHS=...] kernels/dev/run_all.sh [--quick]
#   --quick: skip the naive variant and the tile sweep at the default shape (saves ~half the time).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
make -s -j4 || exit 2   # ARCHS from the environment, e.g. ARCHS="-arch=sm_90" to build for this GPU only
quick=0; [ "${1:-}" = "--quick" ] && quick=1
failed=()
run() {   # run NAME CMD...: prints the command and its output, records a failure
    echo; echo "=== $*"
    "$@"; local rc=$?
    [ $rc -eq 0 ] || failed+=("$* (exit $rc)")
}

run ./host_selftest

# Default shape, every variant (1 naive ... 9 tile sweep), both bank types, 2q and 1q.
for bank in f32 bf16; do
  for mode in --2q --1q; do
    if [ $quick -eq 1 ]; then run ./compress_loss 3 256 128000 128 $bank 0.04 $mode
    else run ./compress_loss all 256 128000 128 $bank 0.04 $mode; fi
  done
done
# Small temperature (exactness with unnormalised banks), realistic (not pre-rounded) operands.
run ./compress_loss 3 256 128000 128 f32 0.01 --2q
run ./compress_loss 3 256 128000 128 bf16 0.01 --1q
run ./compress_loss 3 256 128000 128 f32 0.04 --2q --raw
run ./compress_loss 3 256 128000 128 bf16 0.04 --2q --raw

# Ragged / odd shapes through the production path (+ the scalar variants as a cross-check), no timing.
shapes=(
  "1 1 1"       "1 31 7"      "2 33 16"     "7 1000 100"   "257 4097 128"
  "3 65 129"    "5 777 256"   "64 2049 64"  "65 3001 63"   "33 100 17 --dt 200 --ds 40"
  "17 5000 96 --dt 256 --ds 129"  "9 1023 250 --dt 3 --ds 250"
)
for s in "${shapes[@]}"; do
  for bank in f32 bf16; do
    run ./compress_loss 3 $s $bank 0.02 --no-timing
    run ./compress_loss 2 $s $bank 0.02 --no-timing
  done
done
for s in "1 1 1" "7 1000 100" "257 4097 128" "5 777 256"; do
  run ./compress_loss 3 $s f32 0.02 --1q --no-timing
  run ./compress_loss 3 $s bf16 0.02 --1q --no-timing
done

# Paper shapes (Dt=2048, Ds=512): the fused kernel must refuse them (the unfused path handles them); the
# scalar variants still validate the math there.
run ./compress_loss 3 64 8192 0 f32 0.04 --dt 2048 --ds 512 --no-timing
run ./compress_loss 2 64 8192 0 f32 0.04 --dt 2048 --ds 512 --no-timing

# MoCo v2 InfoNCE.
for bank in f32 bf16; do run ./infonce all 256 65536 128 $bank 0.2; done
run ./infonce 3 256 128000 128 bf16 0.07
for s in "1 1 1" "7 1000 100" "257 4097 256" "3 33 200"; do
  run ./infonce all $s f32 0.1 --no-timing
  run ./infonce 3 $s bf16 0.1 --no-timing
done

# Row-wise steps and bank helpers.
run ./rows_and_bank

echo
if [ ${#failed[@]} -eq 0 ]; then echo "run_all: ALL PASSED"; exit 0; fi
echo "run_all: ${#failed[@]} FAILED:"; printf '  %s\n' "${failed[@]}"; exit 1
