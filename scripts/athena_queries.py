#!/usr/bin/env python3
"""Run the analyst queries of docs/athena.md with DuckDB against a local mcflow output.

Usage: athena_queries.py OUT_DIR [--doc PATH] [--query NAME ...]

Extracts every ```sql block preceded by a line `<!-- query: NAME -->` from the doc
(default: docs/athena.md next to this script's parent), creates DuckDB views named like
the Athena tables (portfolio_cashflows, scenario_results, loan_results, loan_risk) over

    read_parquet('OUT_DIR/<table>/**/*.parquet', hive_partitioning = true,
                 hive_types_autocast = false)

so that the partition columns run_date and run_id are strings, as in Glue, runs each
query and prints ONE JSON object on stdout: {query_name: [row, ...]}, each row an object
keyed by column name, rows in the query's order.

Value encoding: DECIMAL -> JSON string with the exact decimal text ("43537538.77");
DOUBLE -> JSON number (shortest round-trip repr); integers -> numbers; strings and NULL
as such; any other type (dates, ...) -> its string form. Non-finite doubles are an error.

Dialect rewrites (the only ones; all other SQL runs exactly as written in the doc):
  approx_percentile(  ->  quantile_disc(    DuckDB has no approx_percentile. Athena's is
                                            approximate; quantile_disc is an exact order
                                            statistic, so local results are not Athena's.

Exits 2 on a usage or input error, 1 when a query fails (naming it), printing nothing
on stdout in either case. Needs only the standard library and duckdb.
"""

from __future__ import annotations

import argparse
import decimal
import json
import math
import re
import sys
from pathlib import Path

import duckdb

TABLES = ("portfolio_cashflows", "scenario_results", "loan_results", "loan_risk")

QUERY_BLOCK = re.compile(
    r"^<!--\s*query:\s*([A-Za-z0-9_]+)\s*-->[ \t]*\n```sql[ \t]*\n(.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
MARKER = re.compile(r"^<!--\s*query:", re.MULTILINE)

# (pattern, replacement, reason): applied in order to every query.
REWRITES = (
    (
        re.compile(r"\bapprox_percentile\s*\(", re.IGNORECASE),
        "quantile_disc(",
        "DuckDB has no approx_percentile; quantile_disc is its exact discrete quantile",
    ),
)


class Failure(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def extract_queries(doc: Path) -> dict[str, str]:
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError as e:
        raise Failure(f"cannot read {doc}: {e}", 2) from e
    queries: dict[str, str] = {}
    for m in QUERY_BLOCK.finditer(text):
        name, sql = m.group(1), m.group(2).strip()
        if name in queries:
            raise Failure(f"{doc}: query {name!r} is defined twice", 2)
        if not sql:
            raise Failure(f"{doc}: query {name!r} is empty", 2)
        queries[name] = sql
    markers = len(MARKER.findall(text))
    if markers != len(queries):
        raise Failure(
            f"{doc}: {markers} query markers but {len(queries)} well-formed blocks; each "
            "marker line must be followed directly by a ```sql fenced block",
            2,
        )
    if not queries:
        raise Failure(f"{doc}: no <!-- query: NAME --> blocks found", 2)
    return queries


def rewrite(sql: str) -> str:
    for pattern, replacement, _reason in REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[str]:
    created = []
    for table in TABLES:
        folder = out_dir / table
        if not any(folder.glob("**/*.parquet")):
            continue  # e.g. deterministic runs have no scenario_results / loan_results
        pattern = sql_string(f"{folder.as_posix()}/**/*.parquet")
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet({pattern}, "
            "hive_partitioning = true, hive_types_autocast = false)"
        )
        created.append(table)
    return created


def to_json_value(value, query: str, column: str):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Failure(f"query {query!r}: column {column!r} is {value}", 1)
        return value
    return str(value)


def run_query(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> list[dict]:
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as e:
        raise Failure(f"query {name!r} failed: {e}", 1) from e
    if len(set(columns)) != len(columns):
        raise Failure(f"query {name!r}: duplicate column names {columns}", 1)
    return [
        {c: to_json_value(v, name, c) for c, v in zip(columns, row)} for row in rows
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Run docs/athena.md's named queries with DuckDB on mcflow outputs."
    )
    parser.add_argument("out_dir", type=Path, help="mcflow output directory (run --out)")
    parser.add_argument(
        "--doc",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "docs" / "athena.md",
        help="markdown file holding the queries (default: docs/athena.md)",
    )
    parser.add_argument(
        "--query", action="append", metavar="NAME", help="run only these queries"
    )
    args = parser.parse_args(argv)
    try:
        if not args.out_dir.is_dir():
            raise Failure(f"{args.out_dir}: not a directory", 2)
        queries = extract_queries(args.doc)
        if args.query:
            unknown = [q for q in args.query if q not in queries]
            if unknown:
                raise Failure(
                    f"unknown query {unknown}; {args.doc} defines {sorted(queries)}", 2
                )
            queries = {q: queries[q] for q in args.query}
        con = duckdb.connect()
        if not create_views(con, args.out_dir):
            raise Failure(
                f"{args.out_dir}: no Parquet files under any of {', '.join(TABLES)}", 2
            )
        results = {name: run_query(con, name, rewrite(sql)) for name, sql in queries.items()}
    except Failure as f:
        print(f"athena_queries: {f}", file=sys.stderr)
        return f.code
    json.dump(results, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
