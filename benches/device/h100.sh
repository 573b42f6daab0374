#!/usr/bin/env bash
# The GPU checks and figures of benches/NOTES.md on a lent NVIDIA machine (the workplace's
# `device` tool). Run from the repository root with .dev/bin.tar.xz (stripped release builds:
# bin/optsde and test binaries named after their tests/*.rs), benches/device/billion.toml, and the
# Vulkan loader packages in .gl/ unpacked first (see NOTES.md). Every step has its own
# timeout, so one hang cannot eat the lease. Everything lands in $OUT/results.tar (the tool
# returns at most 8 files).
set -u
OUT=${OUT:-/tmp/out}
R=/tmp/results
mkdir -p "$OUT" "$R"
say() { echo; echo "=== $* ($(date +%T))"; }
tar xJf .dev/bin.tar.xz -C /tmp
B=/tmp/bin

say machine
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
nproc; python3 -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tail -1

say adapters
if ! $B/optsde devices 2>&1 | tee "$R/devices.txt" | grep -qi nvidia; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    $B/optsde devices 2>&1 | tee "$R/devices.txt"
fi

say "tests on this GPU and the CPU twin (OPTSDE_REQUIRE_GPU=1)"
for t in ${TESTS:-backends student_t math_kernels divergence physics distributed compressed heavy_tails adaptive sweep}; do
    [ -x "$B/$t" ] || continue
    s=$(date +%s)
    OPTSDE_REQUIRE_GPU=1 timeout ${T_TEST:-150} "$B/$t" --test-threads 16 --nocapture > "$R/test-$t.txt" 2>&1
    rc=$?
    echo "$t: rc $rc, $(( $(date +%s) - s )) s: $(grep -E '^test result' "$R/test-$t.txt" | tail -1)"
    grep -E "panicked|^    [a-z_0-9]+$" "$R/test-$t.txt" | head -6
done

if [ -z "${NO_BENCH:-}" ]; then
say "clock warm-up"
$B/optsde bench --backend gpu --only signsgd-sde-d1 --paths 4194304 --steps 2000 --baselines none --out /tmp/warm 2>&1 | grep '^bench'

for rep in 1 2; do
say "suite ($rep): 2^22 paths x 1000 steps, GPU; JAX loop on the same GPU, 2^22 numbers per array"
timeout ${T_SUITE:-150} $B/optsde bench --backend gpu --paths 4194304 --steps 1000 --repeat 3 --baselines jax \
    --baseline-numbers 4194304 --out "$R/suite$rep" 2>&1 | tee "$R/suite$rep.txt" | grep -v '^bench'
done

say "signsgd-sde d=1: 2^24 paths x 2000 steps; JAX with 2^24 paths"
timeout ${T_BIG:-100} $B/optsde bench --backend gpu --only signsgd-sde-d1 --paths 16777216 --steps 2000 \
    --baselines jax --baseline-numbers 16777216 --out "$R/big" 2>&1 | tee "$R/big.txt" | grep -E '^(bench|signsgd)'

say "10^9 paths x 8 steps on the GPU (peak memory)"
sed 's/^backend = .*/backend = "gpu"/' benches/device/billion.toml > /tmp/billion-gpu.toml
timeout ${T_BILLION:-60} $B/optsde run /tmp/billion-gpu.toml --out "$R/billion" --no-plots -q 2>&1 | tee "$R/billion.txt"
fi
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv
tar cf "$OUT/results.tar" -C /tmp results
