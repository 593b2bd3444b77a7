#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while (FUZZ_SECONDS each, default 20),
# starting from the committed seeds (fuzz/seeds/<target>). Any crash fails the
# run and leaves the input in fuzz/artifacts/<target>/ for `cargo fuzz run
# <target> <file>`. The targets need only the `pingyi-parse` crate, so the
# instrumented build takes a couple of minutes, not polars' twenty.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes -Z flags: nightly if installed, else stable unlocked.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
# The fuzz crate is outside the workspace: pin it to the workspace's versions.
cp ../Cargo.lock Cargo.lock

cargo "${toolchain[@]}" fuzz build -O
targets=$(cargo "${toolchain[@]}" fuzz list)
[ -n "$targets" ] || { echo "fuzz: no targets" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $targets; do
  mkdir -p "corpus/$target"
  rm -rf "artifacts/$target"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  echo "fuzz: $target for ${seconds}s"
  # The fuzzer's own exit status decides: a target that fails to build, to
  # start or that crashes fails the run (its output is shown in full then).
  status=0
  cargo "${toolchain[@]}" fuzz run -O "$target" "corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log"
    echo "fuzz: $target failed (exit $status)" >&2
    compgen -G "artifacts/$target/*" >/dev/null && echo "fuzz: failing input:" artifacts/"$target"/* >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
done
