#!/usr/bin/env python3
"""Checks scripts/pandas_indicators.py against the spec's worked example.

    python3 scripts/check_pandas_indicators.py [--example DIR]

1. Runs it on tests/fixtures/example (CSV in, CSV out) and compares the four
   tables with expected/*.csv: same header, same rows in the same order,
   counts, codes, flags, grades and ranks equal as text, floats within a
   relative 1e-9 (absolute 1e-9 near zero), nulls as empty fields.
2. The same with the inputs converted to Parquet and Parquet output (the
   path the benchmark takes).
3. The input errors of the spec (the cases of analysis/tests/input_errors.rs):
   each edited copy of the example must be refused with exit code 2, the
   same table and key, a problem naming the fault, and nothing written.

4. With --bin BIN (a pingyi binary): variants of the example (no voided
   column, prior_strength 0, a source weighing 0, shuffled rows, monthly,
   yearly and non-adjacent periods, other grade bands, K = 7, weight tables
   changed, header-only tables, every response voided) run through both
   `BIN analyze` and the pandas script; all four tables must agree.

Exits 0 when everything passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pandas_indicators.py"
TABLES = ["institution_indicators", "dimension_indicators", "group_indicators",
          "survey_quality"]
FLOAT_COLUMNS = {
    "index_citizen", "index_assessor", "index", "se", "ci_low", "ci_high",
    "satisfied_rate", "poor_rate", "score", "points", "delta_prev",
    "mean_score", "min_score", "max_score", "cronbach_alpha",
}


def read_csv_text(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def read_parquet_text(path: Path) -> tuple[list[str], list[list[str]]]:
    """A Parquet table as CSV-like text: null '', booleans true/false, floats repr."""
    t = pq.read_table(path)
    cols = []
    for name in t.column_names:
        typ = t.schema.field(name).type
        ok_type = (pa.types.is_int64(typ) or pa.types.is_float64(typ)
                   or pa.types.is_boolean(typ) or pa.types.is_string(typ)
                   or pa.types.is_large_string(typ) or pa.types.is_string_view(typ))
        if not ok_type:
            raise AssertionError(f"{path.name}: column {name} has type {typ}")

        def fmt(v):
            if v is None:
                return ""
            if isinstance(v, bool):
                return "true" if v else "false"
            return repr(v) if isinstance(v, float) else str(v)
        cols.append([fmt(v) for v in t.column(name).to_pylist()])
    return t.column_names, [list(r) for r in zip(*cols)] if cols else []


def close(a: str, b: str, rel: float) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return False
    return abs(x - y) <= max(rel * max(abs(x), abs(y)), rel)


def compare(name: str, actual, expected, rel: float = 1e-9) -> list[str]:
    """Differences between two tables given as (header, rows) of text."""
    (ha, ra), (he, re_) = actual, expected
    if ha != he:
        return [f"{name}: header {ha} != expected {he}"]
    problems = []
    if len(ra) != len(re_):
        problems.append(f"{name}: {len(ra)} rows, expected {len(re_)}")
    for i, (a, e) in enumerate(zip(ra, re_)):
        for col, x, y in zip(he, a, e):
            same = x == y
            if not same and col in FLOAT_COLUMNS and x != "" and y != "":
                same = close(x, y, rel)
            if not same:
                problems.append(f"{name}: row {i + 1} ({', '.join(e[:3])}) {col}: "
                                f"{x!r} != expected {y!r}")
    return problems


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def analyze(inputs: Path, out: Path, ext: str, fmt: str) -> subprocess.CompletedProcess:
    return run(["--institutions", str(inputs / f"institutions.{ext}"),
                "--responses", str(inputs / f"responses.{ext}"),
                "--answers", str(inputs / f"answers.{ext}"),
                "--model", str(inputs / "model.toml"), "--out", str(out), "--format", fmt])


def to_parquet(src: Path, dst: Path) -> None:
    """The example's CSV inputs as Parquet with the spec's types."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "model.toml", dst / "model.toml")
    types = {"duration_ms": pa.int64(), "rating": pa.int64(), "voided": pa.bool_()}
    for table in ["institutions", "responses", "answers"]:
        header, rows = read_csv_text(src / f"{table}.csv")
        arrays = []
        for j, name in enumerate(header):
            values = [r[j] if r[j] != "" else None for r in rows]
            typ = types.get(name, pa.string())
            if typ == pa.int64():
                values = [None if v is None else int(v) for v in values]
            elif typ == pa.bool_():
                values = [None if v is None else v == "true" for v in values]
            arrays.append(pa.array(values, type=typ))
        pq.write_table(pa.Table.from_arrays(arrays, names=header), dst / f"{table}.parquet")


# (file, text to replace, replacement, table, key, part of the problem):
# the input-error cases of analysis/tests/input_errors.rs.
R07 = "r07,W2,citizen,2012-Q1,71000,false"
ERROR_CASES = [
    ("institutions.csv", "institution_code,category_code,district_code",
     "institution_code,category_code,district", "institutions", "column district_code",
     "missing column"),
    ("model.toml", "points_max = 20.0\n", "", "model", "points_max", "missing key"),
    ("responses.csv", R07, ",W2,citizen,2012-Q1,71000,false", "responses", "row 7",
     "empty response_id"),
    ("answers.csv", "r02,eff1,efficiency,4", "r02,,efficiency,4", "answers",
     "response_id 'r02', row 9", "empty item_code"),
    ("institutions.csv", "W3,water,dongcheng", "W3,,dongcheng", "institutions",
     "institution_code 'W3'", "empty category_code"),
    ("institutions.csv", "W4,water", "W3,water", "institutions", "institution_code 'W3'",
     "duplicate"),
    ("responses.csv", "r08,W2", "r07,W2", "responses", "response_id 'r07'", "duplicate"),
    ("answers.csv", "r02,att2,attitude,3", "r02,att1,attitude,3", "answers",
     "response_id 'r02', item_code 'att1'", "duplicate"),
    ("responses.csv", R07, "r07,W9,citizen,2012-Q1,71000,false", "responses",
     "response_id 'r07'", "institution 'W9' does not exist"),
    ("answers.csv", "r02,att1,attitude,3", "r99,att1,attitude,3", "answers",
     "response_id 'r99', item_code 'att1'", "does not exist"),
    ("responses.csv", R07, "r07,W2,Citizen,2012-Q1,71000,false", "responses",
     "response_id 'r07'", "source 'Citizen'"),
    ("answers.csv", "r02,att1,attitude,3", "r02,att1,attitude,7", "answers",
     "response_id 'r02', item_code 'att1'", "rating 7 outside 1..5"),
    ("answers.csv", "r02,att1,attitude,3", "r02,att1,attitude,0", "answers",
     "response_id 'r02', item_code 'att1'", "outside 1..5"),
    ("answers.csv", "r02,att1,attitude,3", "r02,att1,attitude,3.0", "answers",
     "response_id 'r02', item_code 'att1'", "'3.0' is not an integer"),
    ("answers.csv", "r40,att1,attitude,1", "r40,att1,attitude,9", "answers",
     "response_id 'r40', item_code 'att1'", "outside"),
    ("responses.csv", R07, "r07,W2,citizen,2012-Q1, 71000,false", "responses",
     "response_id 'r07'", "duration_ms ' 71000' is not an integer"),
    ("responses.csv", R07, "r07,W2,citizen,2012-Q1,71000,yes", "responses",
     "response_id 'r07'", "voided 'yes' is not a boolean"),
    ("responses.csv", R07, "r07,W2,citizen,2012-Q1,71000,", "responses",
     "response_id 'r07'", "voided is empty"),
    ("responses.csv", R07, "r07,W2,citizen,2012-q1,71000,false", "responses",
     "response_id 'r07'", "period '2012-q1' is malformed"),
    ("responses.csv", R07, "r07,W2,citizen,2012-03,71000,false", "responses",
     "response_id 'r07'", "mixed granularity"),
    ("answers.csv", "r02,att2,attitude,3", "r02,att2,outcome,3", "answers",
     "item_code 'att2'", "two dimension_codes"),
    ("answers.csv", "r02,att2,attitude,3", "r02,park1,parking,3", "answers",
     "response_id 'r02', item_code 'park1'", "dimension 'parking'"),
    ("model.toml", "[dimension_weights.default]", "[dimension_weights.power]",
     "institutions", "institution_code 'W1'", "category 'water'"),
    ("model.toml", "environment = 0.15", "environment = 0.0", "model",
     "dimension_weights.default.environment", "not > 0"),
    ("model.toml", "assessor = 0.4\n", "", "model", "source_weights.assessor", "missing key"),
    ("model.toml", "scale_points = 5", "scale_points = 1", "model", "scale_points",
     "at least 2"),
    ("model.toml", "prior_strength = 4", "prior_strength = -4", "model", "prior_strength",
     ">= 0"),
    ("answers.csv", None, b"\xff\xfe,x\n", "answers", "", "utf-8"),
    ("answers.csv", None, b"r01,att1,attitude,4,surplus\n", "answers", "", "cannot be read"),
]


def check_errors(example: Path, tmp: Path) -> list[str]:
    problems = []
    for n, (file, old, new, table, key, part) in enumerate(ERROR_CASES):
        case = tmp / f"case{n}"
        shutil.copytree(example, case, ignore=shutil.ignore_patterns("expected", "*.md"))
        path = case / file
        if old is None:  # append raw bytes
            path.write_bytes(path.read_bytes() + new)
        else:
            content = path.read_text(encoding="utf-8")
            assert old in content, f"{file} has no {old!r}"
            path.write_text(content.replace(old, new, 1), encoding="utf-8")
        out = case / "out"
        p = analyze(case, out, "csv", "csv")
        message = p.stderr.strip().removeprefix("error: ")
        prefix = f"{table}: {key}: " if key else f"{table}: "
        written = list(out.iterdir()) if out.exists() else []
        if p.returncode != 2 or not message.startswith(prefix) or part not in message \
                or written:
            problems.append(f"error case {file} {old!r} -> {new!r}: exit {p.returncode}, "
                            f"message {message!r}, expected {prefix}...{part}..., "
                            f"written {[w.name for w in written]}")
    return problems


def sub(file: str, old: str, new: str):
    def edit(d: Path):
        p = d / file
        content = p.read_text(encoding="utf-8")
        assert old in content, f"{file} has no {old!r}"
        p.write_text(content.replace(old, new), encoding="utf-8")
    return edit


def rewrite(file: str, change):
    """Applies `change` to the data lines of a CSV file (header kept)."""
    def edit(d: Path):
        p = d / file
        header, *body = p.read_text(encoding="utf-8").splitlines()
        p.write_text("\n".join([header, *change(body)]) + "\n", encoding="utf-8")
    return edit


def drop_voided(d: Path):
    p = d / "responses.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n", encoding="utf-8")


def shuffled(body):
    import random
    random.Random(3).shuffle(body)
    return body


VARIANTS = {
    "no voided column": [drop_voided],
    "prior_strength 0": [sub("model.toml", "prior_strength = 4", "prior_strength = 0")],
    "citizen weight 0": [sub("model.toml", "citizen = 0.6", "citizen = 0")],
    "assessor weight 0": [sub("model.toml", "assessor = 0.4", "assessor = 0.0")],
    "rows shuffled": [rewrite(f, shuffled) for f in
                      ["institutions.csv", "responses.csv", "answers.csv"]],
    "monthly periods": [sub("responses.csv", "2012-Q1", "2012-12"),
                        sub("responses.csv", "2012-Q2", "2013-01")],
    "yearly periods": [sub("responses.csv", "2012-Q1", "2011"),
                       sub("responses.csv", "2012-Q2", "2012")],
    "periods not adjacent": [sub("responses.csv", "2012-Q1", "2011-Q4")],
    "lowest band 56": [sub("model.toml", "min = 0.0", "min = 56.0")],
    "min_sample 0": [sub("model.toml", "min_sample = 5", "min_sample = 0")],
    "min_completion 1": [sub("model.toml", "min_completion = 0.5", "min_completion = 1.0")],
    "K = 7": [sub("model.toml", "scale_points = 5", "scale_points = 7"),
              sub("answers.csv", "r01,att1,attitude,4", "r01,att1,attitude,7")],
    "no hospital table": [sub("model.toml", "[dimension_weights.hospital]",
                              "[dimension_weights.transit]")],
    "hospital table partial": [sub("model.toml", "outcome = 0.30", "")],
    "no answers": [rewrite("answers.csv", lambda body: [])],
    "no responses": [rewrite("responses.csv", lambda body: []),
                     rewrite("answers.csv", lambda body: [])],
    "every response voided": [sub("responses.csv", ",false", ",true")],
}


def check_variants(example: Path, tmp: Path, bin_: Path) -> list[str]:
    problems = []
    for n, (name, edits) in enumerate(VARIANTS.items()):
        case = tmp / f"variant{n}"
        shutil.copytree(example, case, ignore=shutil.ignore_patterns("expected", "*.md"))
        for edit in edits:
            edit(case)
        ours = analyze(case, case / "out-pandas", "csv", "csv")
        theirs = subprocess.run(
            [str(bin_), "analyze", *[a for t in ["institutions", "responses", "answers"]
                                     for a in (f"--{t}", str(case / f"{t}.csv"))],
             "--model", str(case / "model.toml"), "--out", str(case / "out-pingyi"),
             "--format", "csv"], capture_output=True, text=True)
        if ours.returncode != 0 or theirs.returncode != 0:
            problems.append(f"{name}: exit pandas {ours.returncode} ({ours.stderr.strip()}), "
                            f"pingyi {theirs.returncode} ({theirs.stderr.strip()})")
            continue
        for table in TABLES:
            problems += [f"{name}: {p}" for p in compare(
                table, read_csv_text(case / "out-pandas" / f"{table}.csv"),
                read_csv_text(case / "out-pingyi" / f"{table}.csv"))][:5]
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--example", type=Path, default=ROOT / "tests" / "fixtures" / "example")
    ap.add_argument("--bin", type=Path, default=None,
                    help="a pingyi binary: also compare with it on variants of the example")
    args = ap.parse_args()
    example = args.example
    failed = False
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        pq_inputs = tmp / "parquet_inputs"
        to_parquet(example, pq_inputs)
        for label, inputs, ext, fmt in [("CSV", example, "csv", "csv"),
                                        ("Parquet", pq_inputs, "parquet", "parquet")]:
            out = tmp / f"out_{fmt}"
            p = analyze(inputs, out, ext, fmt)
            if p.returncode != 0:
                print(f"FAIL {label}: exit {p.returncode}: {p.stderr.strip()}")
                failed = True
                continue
            for table in TABLES:
                read = read_csv_text if fmt == "csv" else read_parquet_text
                expected = read_csv_text(example / "expected" / f"{table}.csv")
                problems = compare(table, read(out / f"{table}.{fmt}"), expected)
                status = "ok" if not problems else "FAIL"
                print(f"{status:4} {label:7} {table}: {len(expected[1])} rows"
                      + "".join(f"\n       {p}" for p in problems[:20]))
                failed |= bool(problems)
        problems = check_errors(example, tmp)
        status = "ok" if not problems else "FAIL"
        print(f"{status:4} input errors: {len(ERROR_CASES) - len(problems)} of "
              f"{len(ERROR_CASES)} cases refused as specified"
              + "".join(f"\n       {p}" for p in problems))
        failed |= bool(problems)
        if args.bin:
            problems = check_variants(example, tmp, args.bin.resolve())
            status = "ok" if not problems else "FAIL"
            print(f"{status:4} variants: pandas and {args.bin} agree on "
                  f"{len(VARIANTS) - len({p.split(':')[0] for p in problems})} of "
                  f"{len(VARIANTS)} variants of the example"
                  + "".join(f"\n       {p}" for p in problems))
            failed |= bool(problems)
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
