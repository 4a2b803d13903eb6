#!/usr/bin/env bash
# Shows that the CPU execution of the kernels (kernels/emu) catches real kernel bugs: plants one bug at a time in
# a copy of kernels/, builds the loss driver from the copy and runs it; a planted bug is caught when the driver
# fails (a check, a schedule-dependent result, or an emulator stop). Prints `planted bugs caught: N of N` and
# exits non-zero unless every bug was caught.
#   kernels/emu/mutation_check.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kernels="$(dirname "$here")"
work="${1:-$(mktemp -d /tmp/compress-mutants.XXXXXX)}"
mkdir -p "$work"
jobs="${MUTATION_JOBS:-2}"

# name | file | exact text | replacement   (the text must occur exactly once)
mutants=$(cat <<'EOF'
mma B operands swapped|loss_fused.cu|            mma_bf16(z1[2 * np], f1, b[0], b[1]);|            mma_bf16(z1[2 * np], f1, b[1], b[0]);
online-softmax rescale of the accumulator deleted|loss_fused.cu|                gs[n][0] *= scs[0]; gs[n][1] *= scs[0]; gs[n][2] *= scs[1]; gs[n][3] *= scs[1];|
cp.async.wait_group STAGES-1 instead of STAGES-2|loss_fused.cu|        cp_async_wait<C::STAGES - 2>();|        cp_async_wait<C::STAGES - 1>();
the tile loop's __syncthreads removed|loss_fused.cu|        __syncthreads();   // tile visible to all warps; everyone is done with the stage refilled next|
normalisers swapped in the merge|loss_fused.cu|            inv_l[0] = 1.f / Lt;|            inv_l[0] = 1.f / Ls;
off-by-one in the K-tail mask|loss_fused.cu|            const bool valid = !MASK \|\| n * 8 + acc_col(lane, i) < nvalid;|            const bool valid = !MASK \|\| n * 8 + acc_col(lane, i) <= nvalid;
ring-buffer wrap error in the bank enqueue|loss_rows.cu|        const int64_t row = ((int64_t)start + i) % k;|        const int64_t row = ((int64_t)start + i) % (k + 1);
missing b < B guard on the partials|loss_fused.cu|        if (row >= a.b) continue;|
wrong merge order (partials against other splits' weights)|loss_fused.cu|            const int64_t off = ((int64_t)s * B + i) * m.ds + c;|            const int64_t off = ((int64_t)(S - 1 - s) * B + i) * m.ds + c;
normalize's block-sum barrier removed|normalize.cu|    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;\n    __syncthreads();|    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
SGD dampening applied as momentum|optimizer.cu|__fmul_rn(keep, d)|__fmul_rn(momentum, d)
adaptive pool bin end off by one|adaptive_pool.cu|((int64_t)(o + 1) * in + out - 1) / out)|((int64_t)(o + 1) * in + out - 2) / out)
EOF
)

# Replaces $FROM by $TO in the file argv[1]; fails unless $FROM occurs exactly once.
plant_py='
import os, sys
p, frm = sys.argv[1], os.environ["FROM"]
s = open(p).read()
n = s.count(frm)
if n != 1:
    sys.exit("mutation text occurs %d times in %s, expected once: %r" % (n, p, frm))
open(p, "w").write(s.replace(frm, os.environ["TO"]))
'

plant() {   # plant INDEX: copy kernels/, apply mutant INDEX, build, run; prints one line
    local idx="$1" line name file from to dir log
    line="$(printf '%s\n' "$mutants" | sed -n "${idx}p")"
    IFS='|' read -r name file from to <<<"$(printf '%s' "$line" | sed 's/\\|/\x01/g')"
    from="${from//$'\x01'/|}"
    from="${from//\\n/$'\n'}"
    to="${to//$'\x01'/|}"
    to="${to//\\n/$'\n'}"
    dir="$work/m$idx"
    rm -rf "$dir"
    mkdir -p "$dir/src" "$dir/build"
    cp "$kernels"/*.cu "$kernels"/*.cuh "$dir/src/"
    cp -r "$kernels/dev" "$dir/src/dev"
    cp "$work/base/build/"*.o "$dir/build/"   # newer than the copied sources: only the mutated file recompiles
    if ! FROM="$from" TO="$to" python3 -c "$plant_py" "$dir/src/$file" 2>"$dir/log"; then
        echo "NOT PLANTED $name: $(cat "$dir/log")"
        return
    fi
    log="$dir/log"
    local target=kernels_emu_test
    case "$file" in loss_*) target=loss_emu_test ;; esac
    if ! make -s -C "$here" SRC="$dir/src" BUILD="$dir/build" "$dir/build/$target" >"$log" 2>&1; then
        echo "NOT BUILT  $name (see $log)"
        return
    fi
    # The quick cases first; the full set only if they miss it.
    local ok=0
    if [ "$target" = loss_emu_test ]; then
        "$dir/build/loss_emu_test" --sms 3 --quick >>"$log" 2>&1 && "$dir/build/loss_emu_test" --sms 132 >>"$log" 2>&1 && ok=1
    else
        "$dir/build/kernels_emu_test" >>"$log" 2>&1 && ok=1
    fi
    if [ "$ok" = 1 ]; then
        echo "MISSED     $name"
    else
        why="$(grep -m1 -E '^FAIL|^emu:' "$log" | cut -c1-150)"
        echo "caught     $name: $why"
    fi
}
# The unmutated objects, built once.
mkdir -p "$work/base/build"
make -s -C "$here" SRC="$kernels" BUILD="$work/base/build" "$work/base/build/loss_emu_test" "$work/base/build/kernels_emu_test"
export -f plant
export mutants here kernels work plant_py

count="$(printf '%s\n' "$mutants" | wc -l)"
results="$(seq 1 "$count" | xargs -P "$jobs" -I{} bash -c 'plant {}')"
printf '%s\n' "$results" | sort
caught="$(printf '%s\n' "$results" | grep -c '^caught' || true)"
echo "planted bugs caught: $caught of $count"
[ "$caught" -eq "$count" ]
