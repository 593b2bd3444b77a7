#!/usr/bin/env python3
"""The satisfaction indicator method (docs: the indicator spec,
tests/fixtures/example) in plain pandas: a reference implementation to
compare `pingyi analyze` with, on the same files.

    python3 scripts/pandas_indicators.py --institutions F --responses F \\
        --answers F --model model.toml --out DIR [--format csv|parquet] [--timing]

Inputs are CSV or Parquet by extension; the four output tables are written to
DIR/<table>.csv|.parquet, sorted by their keys, in the spec's column order
(all four or none). Exit codes as `pingyi analyze`: 0 done, 2 bad input
(message `error: <table>: <key>: <problem>`, nothing written), 1 anything else.
`--timing` prints the time and peak RSS after each stage on stderr.

How it is written: the way a competent analyst writes pandas for tens of
millions of rows, and no more clever than that. Every step is a vectorised
filter, groupby, merge or column expression; there is no Python loop over
rows (the only loops run over the few dimensions, sources, grade bands and
distinct periods). Three habits keep it within memory and minutes at 65M
answer rows:

- code columns repeated on many rows (institution, source, period, item,
  dimension, and the answers' response_id) are categoricals (see
  CATEGORICAL), so groupbys and comparisons work on their integer codes;
- the big joins, answers -> responses and responses -> institutions, are
  many-to-one lookups of a unique key; they are done as `Index.get_indexer`
  of the categories (the row of the matching response or institution, -1
  when absent), which is exactly what `merge(..., validate="many_to_one")`
  would match, without a hash join of 65M rows; a column of the response is
  then brought to its answers by that row number (numpy take). Small tables
  are joined with `merge`. (Measured on 10M responses, 65M answer rows: the
  lookup of the 10M distinct response_ids took 12-18 s of CPU and the whole
  read ~6 GB; a plain `merge` of the answers' response_id column with the
  responses took 38 s of CPU and peaked at 13.7 GB.)
- the big intermediate frames are deleted once used.

The whole method is implemented, input checks included (every row, voided
responses included, first error reported; the same checks and error keys as
the Rust pipeline). Deliberate differences, all in corners that do not change
any output for valid input:

- Parquet: a null and a NaN in a float column read as integers are not told
  apart after pyarrow's `to_pandas`, so the NaN check (a NaN rating or
  duration is "not an integer") is done with pyarrow compute before the
  conversion; integers beyond +-2^53 in `duration_ms` lose precision in the
  float64 column pandas uses for nullable integers (the speeder comparison
  of a duration of 9e15 ms).
- CSV: read with pandas' C parser; a file that is not UTF-8 or has a row
  with too many fields is refused as "cannot be read" with pandas' message,
  not polars'.
- Floating-point sums run in pandas' order (with Kahan summation in
  groupby means), so floats agree with pingyi's within ~1e-12 relative, not
  bit for bit. Decisions compare values rounded to 6 decimals as the spec
  says, so they agree exactly.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SOURCES = ("citizen", "assessor")

INSTITUTION_COLUMNS = [
    "period", "institution_code", "category_code", "district_code",
    "n_citizen", "n_assessor", "n_excluded", "index_citizen", "index_assessor",
    "index", "se", "ci_low", "ci_high", "satisfied_rate", "poor_rate", "score",
    "points", "grade", "rank_in_category", "delta_prev", "low_sample",
    "rectification",
]
DIMENSION_COLUMNS = [
    "period", "institution_code", "dimension_code", "n_citizen", "n_assessor",
    "index", "se",
]
GROUP_COLUMNS = [
    "period", "group_type", "group_code", "n_institutions", "n_responses",
    "mean_score", "min_score", "max_score",
]
QUALITY_COLUMNS = [
    "period", "category_code", "n_responses", "n_voided", "n_incomplete",
    "n_speeder", "n_valid", "n_straightliner", "cronbach_alpha",
]
# Parquet type of every output column (the rest are utf8).
INT_COLUMNS = {
    "n_citizen", "n_assessor", "n_excluded", "rank_in_category",
    "n_institutions", "n_responses", "n_voided", "n_incomplete", "n_speeder",
    "n_valid", "n_straightliner",
}
FLOAT_COLUMNS = {
    "index_citizen", "index_assessor", "index", "se", "ci_low", "ci_high",
    "satisfied_rate", "poor_rate", "score", "points", "delta_prev",
    "mean_score", "min_score", "max_score", "cronbach_alpha",
}
BOOL_COLUMNS = {"low_sample", "rectification"}


class InputError(Exception):
    """Bad input: the table, the offending key (may be empty), the problem."""

    def __init__(self, table: str, key: str, problem: str):
        super().__init__(f"{table}: {key}: {problem}" if key else f"{table}: {problem}")
        self.table, self.key, self.problem = table, key, problem


class Clock:
    """Stage times and peak RSS on stderr with --timing."""

    def __init__(self, on: bool):
        self.on = on
        self.start = self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.on:
            now = time.perf_counter()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"  {stage}: {now - self.last:.2f} s (total {now - self.start:.2f} s, "
                  f"peak {peak} MB)", file=sys.stderr)
            self.last = now


# --------------------------------------------------------------------------
# Model


def load_model(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InputError("model", "", str(e)) from None

    def get(table, key, name):
        if key not in table:
            raise InputError("model", name, "missing key")
        return table[key]

    def integer(key):
        v = get(raw, key, key)
        if not isinstance(v, int) or isinstance(v, bool):
            raise InputError("model", key, f"expected an integer, found {type(v).__name__}")
        return v

    def number(v, key):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError("model", key, f"expected a number, found {type(v).__name__}")
        return float(v)

    def table(key):
        v = get(raw, key, key)
        if not isinstance(v, dict):
            raise InputError("model", key, f"expected a table, found {type(v).__name__}")
        return v

    m = {
        "scale_points": integer("scale_points"),
        "min_completion": number(get(raw, "min_completion", "min_completion"), "min_completion"),
        "speeder_ms_per_item": number(get(raw, "speeder_ms_per_item", "speeder_ms_per_item"),
                                      "speeder_ms_per_item"),
        "min_sample": integer("min_sample"),
        "prior_strength": number(get(raw, "prior_strength", "prior_strength"), "prior_strength"),
        "rectify_below": number(get(raw, "rectify_below", "rectify_below"), "rectify_below"),
        "rectify_dimension_below": number(get(raw, "rectify_dimension_below",
                                              "rectify_dimension_below"),
                                          "rectify_dimension_below"),
        "points_max": number(get(raw, "points_max", "points_max"), "points_max"),
    }
    sw = table("source_weights")
    for key in sw:
        if key not in SOURCES:
            raise InputError("model", f"source_weights.{key}",
                             "unknown source (only citizen and assessor)")
    m["source_weights"] = {
        s: number(get(sw, s, f"source_weights.{s}"), f"source_weights.{s}") for s in SOURCES
    }
    bands = get(raw, "grades", "grades")
    if not isinstance(bands, list):
        raise InputError("model", "grades", "expected an array of tables [[grades]]")
    m["grades"] = []
    for i, band in enumerate(bands):
        if not isinstance(band, dict):
            raise InputError("model", f"grades[{i}]", "expected a table")
        grade = get(band, "grade", f"grades[{i}].grade")
        if not isinstance(grade, str):
            raise InputError("model", f"grades[{i}].grade", "expected a string")
        m["grades"].append((grade, number(get(band, "min", f"grades[{i}].min"),
                                          f"grades[{i}].min")))
    weights = {}
    for category, t in table("dimension_weights").items():
        if not isinstance(t, dict):
            raise InputError("model", f"dimension_weights.{category}", "expected a table")
        weights[category] = {d: number(w, f"dimension_weights.{category}.{d}")
                             for d, w in t.items()}
    m["dimension_weights"] = weights

    if m["scale_points"] < 2:
        raise InputError("model", "scale_points", "must be at least 2")
    if m["scale_points"] > 1_000_000:
        raise InputError("model", "scale_points", "must be at most 1000000")
    if not math.isfinite(m["prior_strength"]) or m["prior_strength"] < 0:
        raise InputError("model", "prior_strength", "must be a finite number >= 0")
    for s, w in m["source_weights"].items():
        if not math.isfinite(w) or w < 0:
            raise InputError("model", f"source_weights.{s}", "must be a finite number >= 0")
    if all(w == 0 for w in m["source_weights"].values()):
        raise InputError("model", "source_weights", "citizen and assessor are both 0")
    for category in sorted(weights):
        for d in sorted(weights[category]):
            w = weights[category][d]
            if not math.isfinite(w) or w <= 0:
                raise InputError("model", f"dimension_weights.{category}.{d}",
                                 f"weight {w} is not > 0")
    return m


def weight(model: dict, category: str, dimension: str) -> float:
    """A dimension's weight in a category: its own table, else `default`; NaN if neither."""
    tables = model["dimension_weights"]
    for t in (category, "default"):
        if dimension in tables.get(t, {}):
            return tables[t][dimension]
    return math.nan


# --------------------------------------------------------------------------
# Periods

PERIOD_RE = re.compile(r"[0-9]{4}(?:-Q[1-4]|-(?:0[1-9]|1[0-2]))?")


def granularity(p: str) -> str:
    if len(p) == 4:
        return "yearly"
    return "quarterly" if p[5] == "Q" else "monthly"


def previous_period(p: str) -> str | None:
    """2012-01 -> 2011-12, 2012-Q1 -> 2011-Q4, 2012 -> 2011."""
    year = int(p[:4])
    if len(p) == 4:
        return f"{year - 1:04d}" if year > 0 else None
    quarter = p[5] == "Q"
    sub = int(p[6]) if quarter else int(p[5:7])
    if sub > 1:
        return f"{year:04d}-Q{sub - 1}" if quarter else f"{year:04d}-{sub - 1:02d}"
    if year == 0:
        return None
    return f"{year - 1:04d}-Q4" if quarter else f"{year - 1:04d}-12"


# --------------------------------------------------------------------------
# Reading the inputs

TEXT, INTEGER, BOOLEAN = "text", "integer", "boolean"
SPECS = {
    "institutions": {"institution_code": TEXT, "category_code": TEXT, "district_code": TEXT},
    "responses": {"response_id": TEXT, "institution_code": TEXT, "source": TEXT,
                  "period": TEXT, "duration_ms": INTEGER, "voided": BOOLEAN},
    "answers": {"response_id": TEXT, "item_code": TEXT, "dimension_code": TEXT,
                "rating": INTEGER},
}
OPTIONAL = {("responses", "voided")}
# Code columns made categoricals (few distinct values, or a key repeated on
# many rows). From Parquet, those with few distinct values are read as
# dictionaries (pyarrow's read_dictionary); the answers' response_id (as many
# distinct values as responses) is read as text and converted with
# astype("category"), which measured faster than unifying its dictionaries.
CATEGORICAL = {
    "institutions": [],
    "responses": ["institution_code", "source", "period"],
    "answers": ["response_id", "item_code", "dimension_code"],
}
READ_AS_DICTIONARY = {
    "institutions": [],
    "responses": ["institution_code", "source", "period"],
    "answers": ["item_code", "dimension_code"],
}
INT_TEXT = re.compile(r"-?[0-9]+")


def read_table(table: str, path: Path) -> pd.DataFrame:
    """The spec columns of a table, with `<col>__bad` flags (present but not
    a valid integer / boolean) and `<col>__raw` text for messages."""
    spec = SPECS[table]
    ext = path.suffix.lower()
    if not path.exists():
        raise OSError(f"Failed to open {path}: no such file")
    if ext == ".csv":
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                             encoding="utf-8", encoding_errors="strict")
        except (UnicodeDecodeError, pd.errors.ParserError) as e:
            raise InputError(table, "", f"cannot be read: {e}") from None
        for c in spec:
            if c not in df.columns:
                if (table, c) in OPTIONAL:
                    continue
                raise InputError(table, f"column {c}", "missing column")
        df = df[[c for c in spec if c in df.columns]]
        for c, kind in spec.items():
            if c not in df.columns:
                continue
            s = df[c]
            if kind == INTEGER:
                ok = s.str.fullmatch(INT_TEXT).fillna(False).astype(bool)
                value = pd.to_numeric(s.where(ok), errors="coerce").astype("float64")
                ok &= ~(value.abs() >= 2.0**63)
                df[c + "__bad"] = s.notna() & ~ok
                df[c + "__raw"] = s
                df[c] = value.where(ok)
            elif kind == BOOLEAN:
                df[c + "__bad"] = ~s.isin(["true", "false"])
                df[c + "__raw"] = s
                df[c] = s.eq("true")
    elif ext == ".parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(table, "", f"cannot be read: {e}") from None
        present = [c for c in spec if c in schema.names]
        for c, kind in spec.items():
            if c not in schema.names:
                if (table, c) in OPTIONAL:
                    continue
                raise InputError(table, f"column {c}", "missing column")
            t = schema.field(c).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            ok = {
                TEXT: pa.types.is_string(t) or pa.types.is_large_string(t)
                or pa.types.is_string_view(t) or pa.types.is_null(t),
                INTEGER: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t),
                BOOLEAN: pa.types.is_boolean(t) or pa.types.is_null(t),
            }[kind]
            if not ok:
                expected = {TEXT: "utf8", INTEGER: "an integer type", BOOLEAN: "boolean"}[kind]
                raise InputError(table, f"column {c}", f"has type {t}, expected {expected}")
        try:
            tbl = pq.read_table(path, columns=present,
                                read_dictionary=[c for c in READ_AS_DICTIONARY[table] if c in present])
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(table, "", f"cannot be read: {e}") from None
        bad = {}
        for c in present:
            kind, t = spec[c], tbl.schema.field(c).type
            if kind == INTEGER and pa.types.is_floating(t):
                x = tbl[c]
                whole = pc.and_(pc.is_finite(x), pc.equal(x, pc.floor(x)))
                bad[c] = pc.and_(pc.is_valid(x), pc.invert(whole.fill_null(True)))
        df = tbl.to_pandas()
        del tbl
        for c in present:
            kind = spec[c]
            if kind == INTEGER:
                value = df[c].astype("float64")
                df[c + "__bad"] = bad[c].to_numpy() if c in bad else False
                df[c + "__raw"] = df[c]
                df[c] = value.where(~df[c + "__bad"])
            elif kind == BOOLEAN:
                df[c + "__bad"] = df[c].isna()
                df[c + "__raw"] = df[c]
                df[c] = df[c].fillna(False).astype(bool)
            elif kind == TEXT:
                if df[c].dtype == object or str(df[c].dtype) == "null":
                    df[c] = df[c].astype("str")
    else:
        raise InputError(table, str(path), "unsupported file type (expected .csv or .parquet)")
    for c, kind in spec.items():
        if c not in df.columns and (table, c) in OPTIONAL:
            df[c] = False
            df[c + "__bad"] = False
            df[c + "__raw"] = None
    for c in CATEGORICAL[table]:
        if not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
    return df


def empty(s: pd.Series) -> pd.Series:
    """Null or the empty string."""
    return s.isna() | s.eq("")


def first(mask) -> int | None:
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if len(hits) else None


def check(table: str, df: pd.DataFrame, rules) -> None:
    """`rules`: (mask of offending rows, key(row), problem(row)); the first
    rule with an offending row raises for its first row."""
    for mask, key, problem in rules:
        i = first(mask)
        if i is not None:
            row = df.iloc[i]
            raise InputError(table, key(row, i), problem(row))


def text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def response_key(row, i) -> str:
    rid = text(row["response_id"])
    return f"response_id '{rid}'" if rid else f"row {i + 1}"


def answer_key(row, i) -> str:
    item = text(row["item_code"])
    return (f"{response_key(row, i)}, item_code '{item}'" if item
            else f"{response_key(row, i)}, row {i + 1}")


def positions(values: pd.Series, keys: pd.Index) -> np.ndarray:
    """Row of each value in the unique index `keys`, -1 when absent (or null):
    the match of a many-to-one merge on the code."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        pos = keys.get_indexer(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, pos[codes], -1)
    return keys.get_indexer(values)


def validate_institutions(inst: pd.DataFrame, model: dict) -> None:
    code = inst["institution_code"]
    def inst_key(row, i):
        return f"institution_code '{text(row['institution_code'])}'"
    tables = model["dimension_weights"]
    orphan = (~empty(inst["category_code"]) & ~inst["category_code"].isin(list(tables))
              & ("default" not in tables))
    check("institutions", inst, [
        (empty(code), lambda r, i: f"row {i + 1}", lambda r: "empty institution_code"),
        (empty(inst["category_code"]), inst_key, lambda r: "empty category_code"),
        (empty(inst["district_code"]), inst_key, lambda r: "empty district_code"),
        (code.duplicated(keep=False), inst_key, lambda r: "duplicate institution_code"),
        (orphan, inst_key, lambda r: f"category '{r['category_code']}' has no dimension "
                                     "weight table and there is no default"),
    ])


def validate_responses(resp: pd.DataFrame, inst: pd.DataFrame) -> list[str]:
    """Checks every response row; returns the distinct periods, sorted."""
    period = resp["period"]
    distinct = [p for p in pd.unique(period.dropna()) if p != ""]
    malformed = [p for p in distinct if not PERIOD_RE.fullmatch(p)]
    parsed = [p for p in distinct if p not in malformed]
    mixed = [p for p in parsed if granularity(p) != granularity(parsed[0])]
    source = resp["source"]
    rules = [
        (empty(resp["response_id"]), response_key, lambda r: "empty response_id"),
        (empty(resp["institution_code"]), response_key, lambda r: "empty institution_code"),
        (empty(source), response_key, lambda r: "empty source"),
        (empty(period), response_key, lambda r: "empty period"),
        (resp["response_id"].duplicated(keep=False), response_key,
         lambda r: "duplicate response_id"),
        (~empty(resp["institution_code"])
         & ~resp["institution_code"].isin(inst["institution_code"]), response_key,
         lambda r: f"institution '{r['institution_code']}' does not exist"),
        (~empty(source) & ~source.isin(SOURCES), response_key,
         lambda r: f"source '{r['source']}' is not citizen or assessor"),
        (period.isin(malformed), response_key,
         lambda r: f"period '{r['period']}' is malformed (expected YYYY, YYYY-Qn or YYYY-MM)"),
        (period.isin(mixed), response_key,
         lambda r: f"period '{r['period']}' is {granularity(r['period'])} but period "
                   f"'{parsed[0]}' is {granularity(parsed[0])}: mixed granularity"),
        (resp["duration_ms__bad"], response_key,
         lambda r: f"duration_ms '{text(r['duration_ms__raw'])}' is not an integer"),
        (resp["voided__bad"], response_key,
         lambda r: (f"voided '{text(r['voided__raw'])}' is not a boolean (expected true or false)"
                    if text(r["voided__raw"]) else "voided is empty (expected true or false)")),
    ]
    check("responses", resp, rules)
    return sorted(parsed)


def validate_answers(ans: pd.DataFrame, rid: np.ndarray, model: dict) -> pd.DataFrame:
    """Row rules, one dimension per item, no duplicate (response, item).
    Returns the distinct (item_code, dimension_code) pairs."""
    pairs = (ans.groupby(["item_code", "dimension_code"], observed=True).size()
             .reset_index()[["item_code", "dimension_code"]].astype(str)
             .sort_values(["item_code", "dimension_code"]))
    two = pairs[pairs["item_code"].duplicated(keep=False)]
    if len(two):
        item = two["item_code"].iloc[0]
        dims = two.loc[two["item_code"] == item, "dimension_code"].tolist()
        raise InputError("answers", f"item_code '{item}'",
                         f"has two dimension_codes: '{dims[0]}' and '{dims[1]}'")
    k = model["scale_points"]
    rating = ans["rating"]
    check("answers", ans, [
        (empty(ans["response_id"]), lambda r, i: f"row {i + 1}", lambda r: "empty response_id"),
        (empty(ans["item_code"]), answer_key, lambda r: "empty item_code"),
        (empty(ans["dimension_code"]), answer_key, lambda r: "empty dimension_code"),
        (ans["rating__bad"], answer_key,
         lambda r: f"rating '{text(r['rating__raw'])}' is not an integer"),
        ((rating < 1) | (rating > k), answer_key,
         lambda r: f"rating {text(r['rating'])} outside 1..{k}"),
        (rid < 0, answer_key, lambda r: f"response '{r['response_id']}' does not exist"),
    ])
    dup = ans.duplicated(["response_id", "item_code"], keep=False)
    check("answers", ans, [(dup, answer_key, lambda r: "duplicate (response_id, item_code)")])
    return pairs


def validate_dimension_weights(ans, rid, resp_cat, categories, dims, model) -> None:
    """A dimension in an answer needs a weight in its response's category."""
    missing = [(c, d) for c in categories for d in dims if math.isnan(weight(model, c, d))]
    if not missing:
        return
    cat = np.where(rid >= 0, resp_cat[rid], -1)  # category of each answer's response
    mask = np.zeros(len(ans), dtype=bool)
    for c, d in missing:
        mask |= (cat == categories.index(c)) & ans["dimension_code"].eq(d).to_numpy()
    i = first(mask)
    if i is not None:
        row = ans.iloc[i]
        raise InputError("answers", answer_key(row, i),
                         f"dimension '{row['dimension_code']}' has no weight for category "
                         f"'{categories[cat[i]]}' nor in default")


# --------------------------------------------------------------------------
# The method


def round6(x) -> np.ndarray:
    """x * 10^6 rounded half away from zero: the scale decisions are made on."""
    y = np.asarray(x, dtype="float64") * 1e6
    t = np.trunc(y)
    return t + np.where(np.abs(y - t) >= 0.5, np.sign(y), 0.0)


def combine(df: pd.DataFrame, model: dict, value: str, se: str | None = None):
    """Renormalised source weights over the present sources (n >= 1), and
    the weighted `value_<src>` columns; with `se`, the combined standard
    error. Returns (ok, weights by source, index, se)."""
    w = {s: np.where(df[f"n_{s}"] >= 1, model["source_weights"][s], 0.0) for s in SOURCES}
    total = w["citizen"] + w["assessor"]
    ok = total > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        v = {s: w[s] / total for s in SOURCES}
    index = sum(v[s] * df[f"{value}_{s}"].fillna(0.0).to_numpy() for s in SOURCES)
    combined_se = None
    if se is not None:
        missing = np.zeros(len(df), dtype=bool)
        var = 0.0
        for s in SOURCES:
            x = df[f"{se}_{s}"]
            missing |= (df[f"n_{s}"] >= 1).to_numpy() & x.isna().to_numpy()
            var = var + v[s] ** 2 * x.fillna(0.0).to_numpy() ** 2
        combined_se = np.where(ok & ~missing, np.sqrt(var), np.nan)
    return ok, v, np.where(ok, index, np.nan), combined_se


def source_stats(df: pd.DataFrame, keys: list[str], value: str, extra=()) -> pd.DataFrame:
    """Per key and source: n, mean, sd (n-1), se of `value` (and the mean of
    each `extra` column), spread into `<stat>_<source>` columns."""
    aggs = {"n": (value, "size"), "mean": (value, "mean"), "sd": (value, "std")}
    aggs.update({e: (e, "mean") for e in extra})
    st = df.groupby(keys + ["source"], observed=True).agg(**aggs)
    st["se"] = np.where(st["n"] >= 2, st["sd"] / np.sqrt(st["n"]), np.nan)
    wide = st.unstack("source")
    wide.columns = [f"{stat}_{src}" for stat, src in wide.columns]
    for s in SOURCES:
        for stat in ["n", "mean", "sd", "se", *extra]:
            if f"{stat}_{s}" not in wide.columns:
                wide[f"{stat}_{s}"] = np.nan
        wide[f"n_{s}"] = wide[f"n_{s}"].fillna(0).astype("int64")
    return wide


def analyze(inst_path, resp_path, ans_path, model_path, clock: Clock) -> dict:
    model = load_model(Path(model_path))
    k_points = model["scale_points"]

    # ---- inputs and their checks
    inst = read_table("institutions", Path(inst_path))
    validate_institutions(inst, model)
    inst_index = pd.Index(inst["institution_code"])
    categories = sorted(inst["category_code"].unique())
    inst_cat = pd.Index(categories).get_indexer(inst["category_code"])

    resp = read_table("responses", Path(resp_path))
    periods = validate_responses(resp, inst)
    clock.lap("read and check institutions, responses")
    resp = resp[["response_id", "institution_code", "source", "period", "duration_ms",
                 "voided"]]
    iidx = positions(resp["institution_code"], inst_index)
    resp["category_code"] = pd.Categorical.from_codes(inst_cat[iidx], categories)

    ans = read_table("answers", Path(ans_path))
    clock.lap("read answers")
    rid = positions(ans["response_id"], pd.Index(resp["response_id"]))
    pairs = validate_answers(ans, rid, model)
    dims = sorted(pairs["dimension_code"].unique())
    validate_dimension_weights(ans, rid, inst_cat[iidx], categories, dims, model)
    clock.lap("check answers")
    # From here on the answers are keyed by their response's row.
    ans = pd.DataFrame({"rid": rid, "item_code": ans["item_code"],
                        "dimension_code": ans["dimension_code"], "rating": ans["rating"]})
    del rid

    # ---- response level
    per_response = ans.groupby("rid").agg(
        shown=("rating", "size"), answered=("rating", "count"), rating_sum=("rating", "sum"),
        rating_min=("rating", "min"), rating_max=("rating", "max"))
    resp = resp.join(per_response.reindex(range(len(resp))))
    resp[["shown", "answered", "rating_sum"]] = (
        resp[["shown", "answered", "rating_sum"]].fillna(0).astype("int64"))

    rated = ans[ans["rating"].notna()]
    del ans
    by_dim = rated.groupby(["rid", "dimension_code"], observed=True)["rating"].agg(["size", "sum"])
    # D[d]: mean of 100 (r - 1) / (K - 1) over the answered items of d, from
    # the exact integer count and sum.
    by_dim["D"] = 100.0 * (by_dim["sum"] - by_dim["size"]) / ((k_points - 1) * by_dim["size"])
    D = by_dim["D"].unstack("dimension_code").reindex(index=range(len(resp)), columns=dims)
    D.columns = D.columns.astype(str)
    weights = pd.DataFrame([[weight(model, c, d) for d in dims] for c in categories],
                           index=categories, columns=dims)
    # Each response's weights: the row of its category (categories are in
    # `categories` order, so the category codes index the weight table).
    w = pd.DataFrame(weights.to_numpy()[resp["category_code"].cat.codes.to_numpy()],
                     index=D.index, columns=dims).where(D.notna())
    resp["S"] = (w * D).sum(axis=1, min_count=1) / w.sum(axis=1)
    del D, w
    clock.lap("response scores")

    share = resp["answered"] / resp["shown"].where(resp["shown"] > 0)
    resp["incomplete"] = (resp["answered"] == 0) | (share < model["min_completion"])
    resp["speeder"] = (~resp["incomplete"] & resp["duration_ms"].notna()
                       & (resp["duration_ms"] < model["speeder_ms_per_item"] * resp["answered"]))
    resp["valid"] = ~resp["voided"] & ~resp["incomplete"] & ~resp["speeder"]
    resp["straight"] = (resp["valid"] & (resp["answered"] >= 4)
                        & (resp["rating_min"] == resp["rating_max"]))
    s6 = round6(resp["S"])
    resp["sat"] = (s6 >= round6(50.0)).astype("float64")
    resp["poor"] = (s6 <= round6(25.0)).astype("float64")

    live = resp.loc[~resp["voided"], ["period", "institution_code", "valid"]]
    valid = resp.loc[resp["valid"], ["period", "institution_code", "source", "S", "sat", "poor"]]
    keys = ["period", "institution_code"]

    # ---- institution level
    base = live.groupby(keys, observed=True).agg(n_live=("valid", "size"),
                                                 n_valid=("valid", "sum"))
    base["n_excluded"] = (base["n_live"] - base["n_valid"]).astype("int64")
    st = source_stats(valid, keys, "S", extra=("sat", "poor"))
    ii = base[["n_excluded"]].join(st).reset_index()
    ii[["period", "institution_code"]] = ii[["period", "institution_code"]].astype(str)
    for s in SOURCES:
        ii[f"n_{s}"] = ii[f"n_{s}"].fillna(0).astype("int64")
    ii = ii.merge(inst[["institution_code", "category_code", "district_code"]],
                  on="institution_code", how="left")
    ii["ok"], _, ii["index"], ii["se"] = combine(ii, model, "mean", "se")
    for s in SOURCES:
        ii[f"index_{s}"] = ii[f"mean_{s}"].where(ii["ok"])
    ii["ci_low"] = (ii["index"] - 1.96 * ii["se"]).clip(0.0, 100.0)
    ii["ci_high"] = (ii["index"] + 1.96 * ii["se"]).clip(0.0, 100.0)
    ii["satisfied_rate"] = combine(ii, model, "sat")[2]
    ii["poor_rate"] = combine(ii, model, "poor")[2]
    k = model["prior_strength"]
    for s in SOURCES:
        # m_src: plain mean of mean_src over the category's institutions of the
        # period that have the source.
        m = ii.groupby(["period", "category_code"])[f"mean_{s}"].transform("mean")
        n = ii[f"n_{s}"]
        ii[f"shrunk_{s}"] = ii[f"mean_{s}"] if k == 0 else (n * ii[f"mean_{s}"] + k * m) / (n + k)
    ii["score"] = combine(ii, model, "shrunk")[2]
    ii["points"] = ii["score"] * model["points_max"] / 100.0
    ii["score6"] = round6(ii["score"])
    ii["grade"] = None
    for grade, lowest in reversed(model["grades"]):  # the first band reached wins
        ii.loc[ii["score6"] >= round6(lowest), "grade"] = grade
    ii["rank_in_category"] = (ii.groupby(["period", "category_code"])["score6"]
                              .rank(method="min", ascending=False).astype("Int64"))
    ii["low_sample"] = ~ii["ok"] | (ii["n_citizen"] + ii["n_assessor"] < model["min_sample"])
    clock.lap("institution statistics")

    # ---- dimension level
    of_valid = resp["valid"].to_numpy()[by_dim.index.get_level_values("rid")]
    dim_long = by_dim.loc[of_valid, ["D"]].reset_index()
    del by_dim, of_valid
    r = dim_long["rid"].to_numpy()
    for c in ["period", "institution_code", "source"]:
        dim_long[c] = resp[c].array.take(r)  # categorical codes, by response row
    dst = source_stats(dim_long, keys + ["dimension_code"], "D").reset_index()
    del dim_long, r
    dst[["period", "institution_code", "dimension_code"]] = (
        dst[["period", "institution_code", "dimension_code"]].astype(str))
    _, _, dst["index"], dst["se"] = combine(dst, model, "mean", "se")
    dimension_indicators = dst[DIMENSION_COLUMNS].sort_values(
        ["period", "institution_code", "dimension_code"], ignore_index=True)
    clock.lap("dimension statistics")

    lowest = dimension_indicators.groupby(keys)["index"].min().rename("dim_min").reset_index()
    ii = ii.merge(lowest, on=keys, how="left")
    ii["rectification"] = ii["ok"] & (
        (ii["score6"] < round6(model["rectify_below"]))
        | (round6(ii["dim_min"]) < round6(model["rectify_dimension_below"])))
    ii["prev"] = ii["period"].map({p: previous_period(p) for p in periods})
    previous = ii[["period", "institution_code", "score"]].rename(
        columns={"period": "prev", "score": "prev_score"})
    ii = ii.merge(previous, on=["prev", "institution_code"], how="left")
    ii["delta_prev"] = ii["score"] - ii["prev_score"]
    institution_indicators = ii[INSTITUTION_COLUMNS].sort_values(keys, ignore_index=True)

    # ---- groups
    groups = []
    for group_type, column in [("category", "category_code"), ("district", "district_code")]:
        g = (institution_indicators
             .assign(n_valid=institution_indicators["n_citizen"]
                     + institution_indicators["n_assessor"])
             .groupby(["period", column])
             .agg(n_institutions=("score", "count"), n_responses=("n_valid", "sum"),
                  mean_score=("score", "mean"), min_score=("score", "min"),
                  max_score=("score", "max"))
             .reset_index()
             .rename(columns={column: "group_code"}))
        g["group_type"] = group_type
        groups.append(g)
    group_indicators = pd.concat(groups)[GROUP_COLUMNS].sort_values(
        ["period", "group_type", "group_code"], ignore_index=True)

    # ---- survey quality
    pc_keys = ["period", "category_code"]
    resp["live"] = ~resp["voided"]
    quality = resp.assign(
        incomplete=resp["incomplete"] & resp["live"],
        speeder=resp["speeder"] & resp["live"],
    ).groupby(pc_keys, observed=True).agg(
        n_responses=("live", "sum"), n_voided=("voided", "sum"),
        n_incomplete=("incomplete", "sum"), n_speeder=("speeder", "sum"),
        n_valid=("valid", "sum"), n_straightliner=("straight", "sum"))
    quality = quality[quality["n_responses"] > 0].astype("int64")

    # Cronbach's alpha: I = items rated by any valid response of the period
    # and category, k = |I|; the valid responses that rated all of I are
    # those that rated k items (each rated item is in I, none twice).
    resp["pc"] = resp.groupby(pc_keys, observed=True).ngroup()
    pc_names = resp.groupby(pc_keys, observed=True)["pc"].first().reset_index()
    rated = rated[resp["valid"].to_numpy()[rated["rid"].to_numpy()]]
    rated = rated.assign(pc=resp["pc"].to_numpy()[rated["rid"].to_numpy()])
    k_items = rated.groupby(["pc", "item_code"], observed=True).size().groupby("pc").size()
    complete = resp["valid"] & (resp["answered"] == resp["pc"].map(k_items))
    var_t = resp[complete].groupby("pc")["rating_sum"].agg(["size", "var"])
    rated = rated[complete.to_numpy()[rated["rid"].to_numpy()]]
    var_i = (rated.groupby(["pc", "item_code"], observed=True)["rating"].var()
             .groupby("pc").sum())
    alpha = pd.DataFrame({"k": k_items, "n": var_t["size"], "var_t": var_t["var"],
                          "sum_var_i": var_i})
    ok_alpha = (alpha["k"] >= 2) & (alpha["n"] >= 2) & (alpha["var_t"] > 0)
    alpha["cronbach_alpha"] = (alpha["k"] / (alpha["k"] - 1)
                               * (1 - alpha["sum_var_i"] / alpha["var_t"])).where(ok_alpha)
    alpha = pc_names.merge(alpha[["cronbach_alpha"]], left_on="pc", right_index=True, how="left")
    quality = quality.reset_index().merge(alpha.drop(columns="pc"), on=pc_keys, how="left")
    quality[pc_keys] = quality[pc_keys].astype(str)
    survey_quality = quality[QUALITY_COLUMNS].sort_values(pc_keys, ignore_index=True)
    clock.lap("indicators, groups, survey quality")

    return {
        "institution_indicators": institution_indicators,
        "dimension_indicators": dimension_indicators,
        "group_indicators": group_indicators,
        "survey_quality": survey_quality,
    }


# --------------------------------------------------------------------------
# Output


def arrow_table(df: pd.DataFrame) -> pa.Table:
    fields, arrays = [], []
    for c in df.columns:
        s = df[c]
        if c in INT_COLUMNS:
            t = pa.int64()
        elif c in FLOAT_COLUMNS:
            t = pa.float64()
        elif c in BOOL_COLUMNS:
            t = pa.bool_()
        else:
            t = pa.string()
            s = s.astype(object).where(s.notna(), None)
        arrays.append(pa.array(s, type=t, from_pandas=True))
        fields.append(pa.field(c, t))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_outputs(tables: dict, out: Path, fmt: str) -> None:
    """All four tables or none: written to hidden names, then renamed."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for name, df in tables.items():
            temp = out / f".{name}.{fmt}.tmp"
            written.append((temp, out / f"{name}.{fmt}"))
            if fmt == "csv":
                df = df.copy()
                for c in BOOL_COLUMNS & set(df.columns):
                    df[c] = df[c].map({True: "true", False: "false"})
                df.to_csv(temp, index=False, na_rep="", lineterminator="\n")
            else:
                pq.write_table(arrow_table(df), temp)
        for temp, target in written:
            os.replace(temp, target)
    except BaseException:
        for temp, _ in written:
            temp.unlink(missing_ok=True)
        raise


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--institutions", required=True)
    ap.add_argument("--responses", required=True)
    ap.add_argument("--answers", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--timing", action="store_true",
                    help="time and peak RSS of each stage on stderr")
    args = ap.parse_args()
    clock = Clock(args.timing)
    try:
        tables = analyze(args.institutions, args.responses, args.answers, args.model, clock)
        write_outputs(tables, Path(args.out), args.format)
        clock.lap("write outputs")
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - any other failure: exit 1
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    rows = len(tables["institution_indicators"])
    print(f"Wrote the indicator tables to {args.out} ({rows} institution rows).",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
