#!/usr/bin/env bash
# The GPU figures of benches/NOTES.md on a lent NVIDIA machine (the workplace's `device` tool):
# run from the repository root with stripped release builds in .dev/ (optsde, and the backends
# test binary as .dev/backends) and the Vulkan loader packages in .gl/ (see NOTES.md). Every
# step has its own timeout, so one hang cannot eat the lease; results go under $OUT.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
say() { echo; echo "=== $* ($(date +%T))"; }

say machine
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
nproc; python3 -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | tail -1

say adapters
if ! .dev/optsde devices 2>&1 | tee "$OUT/devices.txt" | grep -qi nvidia; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    .dev/optsde devices 2>&1 | tee "$OUT/devices.txt"
fi

say "backends test: CPU twin vs this GPU, bit for bit"
OPTSDE_REQUIRE_GPU=1 timeout ${T_TEST:-150} .dev/backends --test-threads 8 2>&1 | tail -8

say "suite: 2^22 paths x 1000 steps, GPU; JAX loop on the same GPU with 2^22 numbers per array"
timeout ${T_SUITE:-240} .dev/optsde bench --backend gpu --paths 4194304 --steps 1000 --baselines jax \
    --baseline-numbers 4194304 --out "$OUT/suite" 2>&1

say "signsgd-sde d=1: 2^24 paths x 2000 steps; JAX with 2^24 paths"
timeout ${T_BIG:-120} .dev/optsde bench --backend gpu --only signsgd-sde-d1 --paths 16777216 --steps 2000 \
    --baselines jax --baseline-numbers 16777216 --out "$OUT/big" 2>&1

say "10^9 paths x 8 steps on the GPU (peak memory)"
sed 's/^backend = .*/backend = "gpu"/' .dev/billion.toml > /tmp/billion-gpu.toml
timeout ${T_BILLION:-120} .dev/optsde run /tmp/billion-gpu.toml --out "$OUT/billion" --no-plots -q 2>&1
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv
