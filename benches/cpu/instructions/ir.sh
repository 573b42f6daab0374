#!/usr/bin/env bash
# Instructions (callgrind Ir) of the CPU kernels (`workgroup*`) and of the whole process for
# BIN on each experiment of this folder, one thread, no plots. Valgrind has no AVX-512, so
# the CPU runs its AVX2 kernels under it on every machine and the counts compare across machines
# with the same binary. Usage: benches/cpu/instructions/ir.sh target/release/optsde [FILE.toml ...]
BIN=$(realpath "$1"); shift
cd "$(dirname "$0")"
for f in ${@:-*.toml}; do
  out=$(mktemp -d)
  RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=$out/cg.out "$BIN" run $f --quiet --no-plots --out $out/run >/dev/null 2>&1
  total=$(callgrind_annotate $out/cg.out 2>/dev/null | grep "PROGRAM TOTALS" | awk '{print $1}')
  wg=$(callgrind_annotate --inclusive=yes $out/cg.out 2>/dev/null | grep -E "workgroup_avx2|workgroup_avx512" | head -3 | awk '{s=s" "$1} END{print s}')
  echo "$f total $total workgroup$wg"
  rm -rf $out
done
