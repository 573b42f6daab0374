#!/usr/bin/env bash
# The GPU checks and figures of benches/NOTES.md on a lent NVIDIA machine (the workplace's
# `device` tool). Run from the repository root with .dev/bin.tar.xz (stripped release builds:
# bin/optsde and test binaries named after their tests/*.rs), benches/device/billion.toml, and the
# Vulkan loader packages in .gl/ unpacked first (see NOTES.md). Every step has its own
# timeout, so one hang cannot eat the lease. Figures first, tests last; each result lands in
# $OUT as soon as it exists (the tool returns at most 8 files), so a lease cut short keeps them:
# log.txt (everything printed), suite.json, clocks.csv, big.json, variants.jsonl (one bench.json per line),
# billion.txt, tests.txt. TESTS, DEADLINE (s, for the tests), NO_BENCH, SKIP (any of "variants big
# billion": parts left out, for a short follow-up call) and the sizes P, PB, S, S2 can be set; the
# defaults are those of NOTES.md.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
say() { echo; echo "=== $* ($(date +%T))"; }
skip() { case " ${SKIP:-} " in *" $1 "*) echo "(skipped: SKIP has $1)"; return 0;; esac; return 1; }
# The last variant run's path-coordinate-steps/s (paths × d × steps / s) per entry (from its bench.json), or its error.
rates() {
    python3 -c "import json; d = json.load(open('/tmp/var/bench.json')); print('  '.join(f\"{e['entry']} {e['optsde'][0]['path_coordinate_steps_per_second']:.3e}\" for e in d['entries']))" \
        2>/dev/null || tail -2 /tmp/var.txt
    rm -f /tmp/var/bench.json
}
tar xJf .dev/bin.tar.xz -C /tmp
B=/tmp/bin
unset CI

say machine
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
nproc; python3 -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tail -1

say adapters
if ! $B/optsde devices 2>&1 | grep -qi nvidia; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
$B/optsde devices 2>&1

if [ -z "${NO_BENCH:-}" ]; then
say "clock warm-up"
$B/optsde bench --backend gpu --only signsgd-sde-d1 --paths ${P:-4194304} --steps ${S2:-2000} --baselines none --out /tmp/warm 2>&1 | grep -E '^signsgd'

# The PyTorch loop (torch_loop.py, torch.compile'd steps) is new since the second lease: its
# compile warm-ups (Triton) are outside its timed figure but inside T_SUITE.
say "suite: 2^22 paths x 1000 steps, median of 5, GPU; JAX and PyTorch loops on the same GPU, 2^22 numbers per array"
# The SM clock every 50 ms while the suite runs (clocks.csv): in both calls of 2026-11-27 (third
# lease) its first entry ran 2-5x slower than the same kernel in a process without baselines.
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu,power.draw --format=csv -lms 50 > "$OUT/clocks.csv" 2>&1 &
smi=$!
timeout ${T_SUITE:-300} $B/optsde bench --backend gpu --paths ${P:-4194304} --steps ${S:-1000} --repeat 5 --baselines jax,torch \
    --baseline-numbers ${P:-4194304} --out /tmp/suite 2>&1 | grep -v '^bench'
kill $smi
cp /tmp/suite/bench.json "$OUT/suite.json"
python3 -c "import json; [print(e['entry'], 'warm-up', e['optsde'][0]['warmup_runs'], 'runs, timed runs', e['optsde'][0]['run_seconds']) for e in json.load(open('/tmp/suite/bench.json'))['entries']]"

# One bench per variant (OPTSDE_GPU_VARIANT, README "Benchmarks"), the same binary alternating.
# The lists are what the last lease left open (NOTES.md, "A second lease"): the d = 1 kernels
# against their checked build; at d = 16 whether registers pay once the checks are off.
D1_VARIANTS=${D1_VARIANTS:-"auto checks=on"}
D16_VARIANTS=${D16_VARIANTS:-"auto checks=on coef-regs=on checks=on,coef-regs=on"}
variant_runs() { # entries, repeat, rounds, variants...
    local entries=$1 repeat=$2 rounds=$3; shift 3
    for round in $(seq "$rounds"); do
        for v in "$@"; do
            [ "$v" = auto ] && v=""
            OPTSDE_GPU_VARIANT=$v timeout 90 $B/optsde bench --backend gpu --only "$entries" --paths ${P:-4194304} \
                --steps ${S:-1000} --repeat "$repeat" --baselines none --out /tmp/var >/tmp/var.txt 2>&1
            printf 'round %s %-28s ' "$round" "${v:-default}"
            [ -f /tmp/var/bench.json ] && { tr -d '\n' < /tmp/var/bench.json; echo; } >> "$OUT/variants.jsonl"
            rates
        done
    done
}
say "kernel variants, d = 1 entries, 2^22 paths x 1000 steps, median of 5, two rounds"
skip variants || variant_runs signsgd-sde-d1,sgd-sde-d1,adam-sde-d1 5 2 $D1_VARIANTS
say "kernel variants, d = 16 entries, median of 3, one round"
skip variants || variant_runs signsgd-sde-d16,dcsgd-d16,dsignsgd-d16 3 1 $D16_VARIANTS

say "signsgd-sde d=1: 2^24 paths x 2000 steps, median of 3; JAX and PyTorch with 2^24 paths"
if ! skip big; then
timeout ${T_BIG:-140} $B/optsde bench --backend gpu --only signsgd-sde-d1 --paths ${PB:-16777216} --steps ${S2:-2000} --repeat 3 \
    --baselines jax,torch --baseline-numbers ${PB:-16777216} --out /tmp/big 2>&1 | grep -E '^(signsgd|jax|torch|stationary)'
cp /tmp/big/bench.json "$OUT/big.json"
fi

say "10^9 paths x 8 steps on the GPU (peak memory)"
if ! skip billion; then
sed 's/^backend = .*/backend = "gpu"/' benches/device/billion.toml > /tmp/billion-gpu.toml
timeout ${T_BILLION:-60} $B/optsde run /tmp/billion-gpu.toml --out /tmp/billion --no-plots -q 2>&1 | tee "$OUT/billion.txt"
fi
fi

say "tests on this GPU and the CPU twin (OPTSDE_REQUIRE_GPU=1), all binaries at once, until ${DEADLINE:-480} s"
# heavy_tails is left out by default: its CPU-twin oracles ran past 170 s there (2026-11-27).
# Each binary's output is appended to tests.txt as soon as it ends. The PIDs are waited for by
# name: a bare `wait` would also wait for the `tee` of the log, which never ends.
left=$(( ${DEADLINE:-480} - SECONDS ))
if [ "$left" -gt 20 ]; then
    pids=()
    for t in ${TESTS:-backends student_t math_kernels physics divergence distributed compressed adaptive rng_stats shaders}; do
        [ -x "$B/$t" ] || continue
        ( s=$SECONDS
          OPTSDE_REQUIRE_GPU=1 timeout "$left" "$B/$t" --test-threads 6 --nocapture > /tmp/test-$t.txt 2>&1
          rc=$?
          { flock 9
            echo "$t: rc $rc, $(( SECONDS - s )) s: $(grep -E '^test result' /tmp/test-$t.txt | tail -1)"
            grep -E "panicked|^    [a-z_0-9]+$" /tmp/test-$t.txt | head -6
            { echo "##### $t rc $rc"; cat /tmp/test-$t.txt; } >> "$OUT/tests.txt"
          } 9>/tmp/tests.lock ) &
        pids+=($!)
    done
    wait "${pids[@]}"
else
    echo "no time left for the tests ($left s)"
fi
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv
