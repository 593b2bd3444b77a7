#!/bin/sh
# Alternates the `citizen` load scenario between two server builds, one run
# each in turn (a fresh server and database per run), so a noisy machine
# weighs on both alike. Prints each run's cycle line and server CPU per
# success; the full tables are in OUT/<build>.<round>.txt.
#
#   scripts/citizen_ab.sh OUT BEFORE_BIN AFTER_BIN [ROUNDS=3] [LOADGEN=target/release/loadgen]
#
# The two binaries need different file names (they name the output files).
set -eu
out=$1 before=$2 after=$3 rounds=${4:-3} loadgen=${5:-target/release/loadgen}
mkdir -p "$out"
for i in $(seq 1 "$rounds"); do
  for bin in "$before" "$after"; do
    name=$(basename "$bin")
    "$loadgen" --scenario citizen --repeat 1 --server-bin "$bin" > "$out/$name.$i.txt" 2>&1
    echo "$name run $i: $(grep '^| cycle |' "$out/$name.$i.txt") $(grep 'median server CPU' "$out/$name.$i.txt" | sed 's/.*threads): //')"
  done
done
