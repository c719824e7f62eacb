#!/bin/sh
# Dense against tiled sdpa, forward + backward, at growing sequence lengths (causal, then a few
# unmasked), then the tiled op at two other tile sizes, then the same for relational attention:
# one process per row, so each peak RSS is that configuration's alone.
#   scripts/bench_long_context.sh [build dir]   (after make build/bin/bench_attention)
set -e
BIN="${1:-build}/bin/bench_attention"
grep -m1 "model name" /proc/cpuinfo
if grep -q -w avx512f /proc/cpuinfo; then echo "vector ISA: AVX-512"; else echo "vector ISA: AVX2 or less"; fi
for T in 128 256 512 1024 2048 4096; do
  for impl in dense tiled; do OPENBLAS_NUM_THREADS=1 "$BIN" --seq "$T" --impl "$impl" --steps 5; done
done
for T in 256 512 1024; do  # no mask: no causal tiles to skip
  for impl in dense tiled; do OPENBLAS_NUM_THREADS=1 "$BIN" --seq "$T" --impl "$impl" --unmasked --steps 5; done
done
for T in 1024 4096; do
  for tile in 32 128; do OPENBLAS_NUM_THREADS=1 "$BIN" --seq "$T" --impl tiled --tile "$tile" --steps 5; done
done
for T in 512 1024 2048 4096; do  # relational attention (kept: the attention state the tape saves)
  for impl in dense tiled; do OPENBLAS_NUM_THREADS=1 "$BIN" --seq "$T" --op relational --impl "$impl" --steps 3; done
done
for tile in 32 128; do OPENBLAS_NUM_THREADS=1 "$BIN" --seq 1024 --op relational --impl tiled --tile "$tile" --steps 3; done
