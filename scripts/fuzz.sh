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
for target in $(cargo "${toolchain[@]}" fuzz list); do
  mkdir -p "corpus/$target"
  seeds=()
  [ -d "seeds/$target" ] && seeds=("seeds/$target")
  echo "fuzz: $target for ${seconds}s"
  cargo "${toolchain[@]}" fuzz run -O "$target" "corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E '^(Done|==|SUMMARY|stat::number_of_executed_units)|panicked|ERROR' || true
  # A crash leaves its input in artifacts/; fail on it.
  if compgen -G "artifacts/$target/*" >/dev/null; then
    echo "fuzz: $target found a failing input:" artifacts/"$target"/*
    exit 1
  fi
done
