#!/usr/bin/env bash
# Time two optsde binaries against each other on the bench suite, alternated (A, B, A, B, ...)
# so that a drift of the machine touches both: `optsde bench --repeat 3 --no-baselines`, the CPU
# at the default sizes, lavapipe or a GPU at the default sizes for the d = 1 entries and
# signsgd-sde d = 16, and at 2^16 paths for dcsgd and dsignsgd (on lavapipe one dcsgd run at
# 2^20 paths takes minutes). Then `python3 benches/ab/table.py OUT` prints the table.
# Usage: benches/ab/alternate.sh OLD_BIN NEW_BIN OUT [ROUNDS=2]
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); OUT=$3; ROUNDS=${4:-2}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  for b in old new; do
    if [ $b = old ]; then BIN=$OLD; else BIN=$NEW; fi
    s=$(date +%s)
    "$BIN" bench --repeat 3 --no-baselines --backend cpu --out "$OUT/cpu/$b-$r" > "$OUT/cpu-$b-$r.log" 2>&1
    "$BIN" bench --repeat 3 --no-baselines --backend gpu \
      --only signsgd-sde-d1,signsgd-sde-d16,sgd-sde-d1,adam-sde-d1 --out "$OUT/gpu/$b-$r" > "$OUT/gpu-$b-$r.log" 2>&1
    "$BIN" bench --repeat 3 --no-baselines --backend gpu --only dcsgd-d16,dsignsgd-d16 --paths 65536 \
      --out "$OUT/gpu-small/$b-$r" > "$OUT/gpus-$b-$r.log" 2>&1
    echo "$b round $r: $(( $(date +%s) - s )) s" | tee -a "$OUT/progress.txt"
  done
done
