#!/usr/bin/env python3
"""`pingyi analyze` (polars) against the pandas implementation of the same
method (scripts/pandas_indicators.py), on the same Parquet files, in the
same run.

    python3 scripts/bench_analyze.py [--responses 1000000,10000000] \\
        [--bin target/release/pingyi] [--runs 3] [--skip-pandas-above N] \\
        [--data-dir DIR] [--seed 1]

For each size N it generates the data with the binary

    BIN demo-data --responses N --seed 1 --format parquet --out DATA

(into a temporary directory, or DATA = DIR/responses-N with --data-dir,
where an existing complete data set is reused), then runs, alternately,
--runs times each (pingyi, pandas, pingyi, pandas, ...):

    (a) BIN analyze --institutions DATA/institutions.parquet
            --responses DATA/responses.parquet --answers DATA/answers.parquet
            --model DATA/model.toml --out OUT --format parquet
    (b) python3 scripts/pandas_indicators.py (the same arguments)

Each run writes into an empty OUT and is measured with GNU time
(`/usr/bin/time -f '%e %M %U %S'`: wall seconds, peak RSS of the process,
user and system CPU seconds), or, without it, with a wall clock and
os.wait4's ru_maxrss of the child. It reports the median of the runs and
the ratio pandas / pingyi of the medians, as a Markdown table with the exact
commands and settings. The children run with every PINGYI_* variable removed
from the environment (so all settings are the defaults and PINGYI_LOG is not
set), in a working directory without a pingyi.toml.

After the runs of a size, the last institution_indicators.parquet of each
tool are compared: the same rows (period, institution_code) in the same
order, `index` and `score` within 1e-6, and, for information, every other
column (counts, flags, grades, ranks equal; floats within 1e-9 relative).

`--skip-pandas-above N` runs only pingyi at sizes above N. Exit code 0 when
every run succeeded and the outputs agree, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
PANDAS_SCRIPT = ROOT / "scripts" / "pandas_indicators.py"
GNU_TIME = "/usr/bin/time"
KEYS = ["period", "institution_code"]


def child_env() -> tuple[dict, list[str]]:
    """The environment of the measured runs: ours without PINGYI_*."""
    removed = sorted(k for k in os.environ if k.startswith("PINGYI_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGYI_")}
    return env, removed


def measure(cmd: list[str], cwd: Path, log: Path, env: dict) -> dict:
    """Runs `cmd`; returns wall s, peak RSS MB, user and sys CPU s, exit code."""
    with open(log, "w") as out:
        if os.path.exists(GNU_TIME):
            tfile = log.with_suffix(".time")
            p = subprocess.run([GNU_TIME, "-f", "%e %M %U %S", "-o", str(tfile), *cmd],
                               cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
            fields = tfile.read_text().strip().splitlines()[-1].split()
            wall, rss_kb, user, sys_ = float(fields[0]), int(fields[1]), float(fields[2]), \
                float(fields[3])
            code = p.returncode
        else:
            start = time.perf_counter()
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - start
            p.returncode = code = os.waitstatus_to_exitcode(status)
            rss_kb, user, sys_ = usage.ru_maxrss, usage.ru_utime, usage.ru_stime
    return {"wall": wall, "rss": rss_kb / 1024, "user": user, "sys": sys_, "code": code}


def analyze_args(data: Path, out: Path) -> list[str]:
    return ["--institutions", str(data / "institutions.parquet"),
            "--responses", str(data / "responses.parquet"),
            "--answers", str(data / "answers.parquet"),
            "--model", str(data / "model.toml"),
            "--out", str(out), "--format", "parquet"]


def generate(bin_: Path, n: int, seed: int, data: Path, cwd: Path, env: dict) -> dict | None:
    """Generates a data set (or reuses a complete one); None when reused."""
    done = data / ".complete"
    if done.exists():
        return None
    if data.exists():
        shutil.rmtree(data)
    cmd = [str(bin_), "demo-data", "--responses", str(n), "--seed", str(seed),
           "--format", "parquet", "--out", str(data)]
    m = measure(cmd, cwd, cwd / f"demo-data-{n}.log", env)
    if m["code"] != 0:
        raise SystemExit(f"demo-data failed (exit {m['code']}): "
                         f"{(cwd / f'demo-data-{n}.log').read_text()[-2000:]}")
    done.write_text(f"seed {seed}\n")
    return m


def compare_institutions(pingyi: Path, pandas: Path) -> tuple[bool, list[str]]:
    """Sanity check of the two institution_indicators tables."""
    a = pq.read_table(pingyi / "institution_indicators.parquet").to_pylist()
    b = pq.read_table(pandas / "institution_indicators.parquet").to_pylist()
    lines = [f"rows: pingyi {len(a)}, pandas {len(b)}"]
    if len(a) != len(b) or any([r[k] for k in KEYS] != [s[k] for k in KEYS]
                               for r, s in zip(a, b)):
        lines.append("the (period, institution_code) rows differ")
        return False, lines
    ok = True
    for col in ["index", "score"]:
        nulls = sum((r[col] is None) != (s[col] is None) for r, s in zip(a, b))
        diffs = [abs(r[col] - s[col]) for r, s in zip(a, b)
                 if r[col] is not None and s[col] is not None]
        worst = max(diffs, default=0.0)
        good = nulls == 0 and worst <= 1e-6
        ok &= good
        lines.append(f"{col}: null in one table only: {nulls} rows; largest difference "
                     f"{worst:.3g} ({'within' if good else 'NOT within'} 1e-6)")
    other = []
    for col in a[0].keys() if a else []:
        if col in KEYS or col in ("index", "score"):
            continue
        bad = 0
        for r, s in zip(a, b):
            x, y = r[col], s[col]
            if isinstance(x, float) and isinstance(y, float):
                same = abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1.0)
            else:
                same = x == y
            bad += not same
        if bad:
            other.append(f"{col} ({bad} rows)")
    lines.append("other columns (counts, flags, grades, ranks equal; floats within 1e-9 "
                 "relative): " + ("all agree" if not other else "differ: " + ", ".join(other)))
    return ok, lines


def median(xs):
    return statistics.median(xs) if xs else math.nan


def fmt_runs(xs, digits=2):
    return ", ".join(f"{x:.{digits}f}" for x in xs)


def machine_info() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return [f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, {platform.platform()}"]


def speed_probe() -> float:
    """Seconds for a fixed pure-Python loop (docs/benchmarks-analysis.md: 1.5 s quiet)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "s=0\nfor i in range(20000000): s+=i"], check=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--responses", default="1000000,10000000",
                    help="comma-separated data set sizes (responses)")
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "pingyi")
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool per size")
    ap.add_argument("--skip-pandas-above", type=int, default=None, metavar="N",
                    help="run only pingyi at sizes above N responses")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="keep (and reuse) the generated data sets here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.responses.split(",") if s.strip()]
    bin_ = args.bin.resolve()
    if not bin_.exists():
        print(f"error: no binary at {bin_} (build it, or pass --bin)", file=sys.stderr)
        return 1
    env, removed = child_env()
    python = sys.executable

    work = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    data_root = args.data_dir.resolve() if args.data_dir else work / "data"
    data_root.mkdir(parents=True, exist_ok=True)
    assert not (work / "pingyi.toml").exists()

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    probe_before = speed_probe()
    import_cost = measure([python, "-c", "import pandas, pyarrow.parquet, numpy"], work,
                          work / "import.log", env)
    rows, checks, failed = [], [], False
    for n in sizes:
        data = data_root / f"responses-{n}"
        print(f"== {n} responses: data in {data}", file=sys.stderr)
        gen = generate(bin_, n, args.seed, data, work, env)
        meta = {t: pq.ParquetFile(data / f"{t}.parquet").metadata.num_rows
                for t in ["institutions", "responses", "answers"]}
        size_mb = sum((data / f"{t}.parquet").stat().st_size
                      for t in ["institutions", "responses", "answers"]) / 1e6
        run_pandas = args.skip_pandas_above is None or n <= args.skip_pandas_above
        tools = {"pingyi": [str(bin_), "analyze"],
                 "pandas": [python, str(PANDAS_SCRIPT)]}
        if not run_pandas:
            del tools["pandas"]
        results = {t: [] for t in tools}
        load_before = os.getloadavg()
        for i in range(args.runs):
            for tool, prefix in tools.items():
                out = work / f"out-{tool}"
                if out.exists():
                    shutil.rmtree(out)
                log = work / f"{tool}-{n}-{i + 1}.log"
                m = measure(prefix + analyze_args(data, out), work, log, env)
                print(f"   {tool} run {i + 1}: {m['wall']:.2f} s, {m['rss']:.0f} MB, "
                      f"exit {m['code']}", file=sys.stderr)
                if m["code"] != 0:
                    failed = True
                    print(log.read_text()[-3000:], file=sys.stderr)
                results[tool].append(m)
        load_after = os.getloadavg()
        check_ok, check_lines = (None, ["pandas skipped"])
        if run_pandas and all(m["code"] == 0 for ms in results.values() for m in ms):
            check_ok, check_lines = compare_institutions(work / "out-pingyi",
                                                         work / "out-pandas")
            failed |= not check_ok
        checks.append((n, check_ok, check_lines))
        rows.append((n, meta, size_mb, gen, results, load_before, load_after))

    probe_after = speed_probe()
    finished = time.strftime("%Y-%m-%d %H:%M:%S %Z")

    # ---- report
    p = print
    p(f"## `pingyi analyze` against pandas ({started} to {finished})\n")
    p("| responses | answer rows | input Parquet | tool | wall time, median (runs) "
      "| peak RSS, median (runs) | CPU user + sys, median | pandas / pingyi |")
    p("|---:|---:|---:|---|---:|---:|---:|---:|")
    for n, meta, size_mb, gen, results, lb, la in rows:
        med = {t: (median([m["wall"] for m in ms]), median([m["rss"] for m in ms]))
               for t, ms in results.items()}
        for tool in ["pingyi", "pandas"]:
            ms = results.get(tool)
            if ms is None:
                p(f"| {n:,} | {meta['answers']:,} | {size_mb:.3g} MB | pandas | skipped "
                  f"(--skip-pandas-above) | | | |")
                continue
            walls, rsss = [m["wall"] for m in ms], [m["rss"] for m in ms]
            cpu = median([m["user"] + m["sys"] for m in ms])
            usr = median([m["user"] for m in ms])
            sy = median([m["sys"] for m in ms])
            ratio = ""
            if tool == "pandas" and "pingyi" in med:
                ratio = (f"{med['pandas'][0] / med['pingyi'][0]:.1f}× time, "
                         f"{med['pandas'][1] / med['pingyi'][1]:.1f}× memory")
            failed_runs = sum(m["code"] != 0 for m in ms)
            note = f" ({failed_runs} failed)" if failed_runs else ""
            p(f"| {n:,} | {meta['answers']:,} | {size_mb:.3g} MB | {tool}{note} | "
              f"{median(walls):.2f} s ({fmt_runs(walls)}) | "
              f"{median(rsss):,.0f} MB ({fmt_runs(rsss, 0)}) | "
              f"{cpu:.1f} s ({usr:.1f} + {sy:.1f}) | {ratio} |")
    p()
    p("Sanity check (the last run of each tool, institution_indicators.parquet):\n")
    for n, ok, lines in checks:
        verdict = {True: "PASS", False: "FAIL", None: "not run"}[ok]
        p(f"- {n:,} responses: **{verdict}**; " + "; ".join(lines))
    p()
    p("Settings:\n")
    p(f"- machine: {machine_info()[0]}; load average (1, 5, 15 min) before/after each "
      "size: " + "; ".join(f"{n:,}: {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f} / "
                           f"{la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
                           for n, _, _, _, _, lb, la in rows))
    p(f"- speed probe (`python3 -c \"s=0; for i in range(20000000): s+=i\"`, 1.5 s on a "
      f"quiet box): {probe_before:.2f} s before, {probe_after:.2f} s after")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "?"
    st = bin_.stat()
    p(f"- pingyi: `{bin_}` ({st.st_size / 1e6:.0f} MB, built "
      f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(st.st_mtime))}); "
      f"this checkout at {head}")
    import numpy
    import pandas
    import pyarrow
    p(f"- pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, numpy "
      f"{numpy.__version__}, Python {platform.python_version()} (`{python}`); importing "
      f"pandas + pyarrow + numpy alone: {import_cost['wall']:.2f} s, "
      f"{import_cost['rss']:.0f} MB (included in the pandas figures)")
    p("- environment of the runs: every `PINGYI_*` variable removed, so every setting "
      "is its default and `PINGYI_LOG` is not set"
      + (f" (removed: {', '.join(removed)})" if removed else
         " (none was set in the benchmark's environment)")
      + "; other variables as inherited"
      + "".join(f"; {k}={os.environ[k]}" for k in sorted(os.environ)
                if k.startswith(("POLARS_", "MIMALLOC_", "OMP_", "RAYON_", "ARROW_")))
      + f"; working directory `{work}` (no pingyi.toml)")
    p(f"- measurement: "
      + ("`/usr/bin/time -f '%e %M %U %S'` (wall, peak RSS of the process, user, system)"
         if os.path.exists(GNU_TIME) else
         "wall clock and os.wait4's ru_maxrss of the child")
      + f"; {args.runs} run(s) of each tool per size, alternating pingyi, pandas; each run "
      "writes into an empty output directory")
    p("- data: `BIN demo-data --responses N --seed {seed} --format parquet --out DATA`"
      .replace("{seed}", str(args.seed)) + "; " + "; ".join(
          f"{n:,}: {meta['institutions']:,} institutions, {meta['responses']:,} responses, "
          f"{meta['answers']:,} answer rows, "
          + (f"generated in {gen['wall']:.1f} s" if gen else "reused")
          for n, meta, _, gen, _, _, _ in rows))
    p("\nCommands (DATA = the data set's directory, OUT = an empty output directory):\n")
    p("```")
    p(f"{bin_} demo-data --responses N --seed {args.seed} --format parquet --out DATA")
    p(shlex.join([str(bin_), "analyze", *analyze_args(Path("DATA"), Path("OUT"))]))
    p(shlex.join([python, str(PANDAS_SCRIPT), *analyze_args(Path("DATA"), Path("OUT"))]))
    p("```")
    shutil.rmtree(work, ignore_errors=True)  # outputs, logs, and data unless --data-dir
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
