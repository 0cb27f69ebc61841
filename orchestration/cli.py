"""The `expansion` command: generate sample data, run the whole Dagster job in-process."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.lib import paths

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UsageError(Exception):
    """A wrong option or setting; the message is one sentence."""


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs into dbt vars; `as_of_date` must be an ISO date."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var expects KEY=VALUE, not '{pair}'.")
        result[key.strip()] = value.strip()
    as_of = result.get("as_of_date")
    if as_of is not None:
        if not ISO_DATE.match(as_of):
            raise UsageError(f"--var as_of_date must be an ISO date like 2026-11-22, not '{as_of}'.")
        try:
            date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--var as_of_date={as_of} is not a calendar date.") from None
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="expansion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a realistic sample landing directory")
    generate.add_argument("--out", required=True, type=Path, help="landing directory to write")
    generate.add_argument("--scale", type=float, default=1.0, help="1 is about 100k order lines (default 1)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--dirty", action="store_true", help="mix in contract-breaking rows")
    generate.add_argument("--end-date", type=date.fromisoformat, default=None,
                          help="last day of the data, ISO date (default today, UTC)")
    generate.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="file format")

    run = commands.add_parser("run", help="load, dbt build, checks and syncs, in-process")
    run.add_argument("--raw", type=Path, default=None,
                     help=f"landing directory (default {paths.DEFAULT_RAW_DIR.relative_to(paths.PROJECT_ROOT)}, "
                          "generated when absent)")
    run.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default warehouse/expansion.duckdb)")
    run.add_argument("--outbox", type=Path, default=None, help="outbox directory for syncs (default outbox/)")
    run.add_argument("--no-sync", action="store_true", help="stop after the checks; deliver nothing")
    run.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="dbt var (repeatable)")
    return parser


def command_generate(args: argparse.Namespace) -> int:
    from orchestration.lib.generator import generate

    if args.scale <= 0:
        raise UsageError(f"--scale must be positive, not {args.scale}.")
    started = time.perf_counter()
    report = generate(args.out.resolve(), scale=args.scale, seed=args.seed, dirty=args.dirty,
                      end_date=args.end_date, fmt=args.format,
                      progress=lambda table, rows: print(f"  {table}: {rows:,} rows", file=sys.stderr, flush=True))
    print(f"Wrote {sum(report.rows.values()):,} rows to {report.out_dir} in {time.perf_counter() - started:.1f} s "
          f"(seed {args.seed}, scale {args.scale:g}, data through {report.end_date}).")
    for table, rows in report.rows.items():
        superseded = report.superseded.get(table, 0)
        note = f" ({superseded:,} older versions)" if superseded else ""
        print(f"  {table:<20} {rows:>12,}{note}")
    if report.planted:
        total = sum(sum(rules.values()) for rules in report.planted.values())
        print(f"Planted {total} contract-breaking rows:")
        for table, rules in report.planted.items():
            print(f"  {table:<20} " + ", ".join(f"{rule} {count}" for rule, count in sorted(rules.items())))
    return 0


@dataclass
class RunSettings:
    raw_dir: Path
    warehouse: Path
    outbox: Path
    sync: bool
    vars: dict[str, str]
    generated_sample: bool = False


def resolve_run_settings(args: argparse.Namespace) -> RunSettings:
    dbt_vars = parse_vars(args.var)
    raw_dir = (args.raw or paths.setting(paths.RAW_DIR_ENV, paths.DEFAULT_RAW_DIR)).resolve()
    settings = RunSettings(
        raw_dir=raw_dir,
        warehouse=(args.warehouse or paths.setting(paths.WAREHOUSE_ENV, paths.DEFAULT_WAREHOUSE)).resolve(),
        outbox=(args.outbox or paths.setting(paths.OUTBOX_ENV, paths.DEFAULT_OUTBOX)).resolve(),
        sync=not args.no_sync,
        vars=dbt_vars,
    )
    if not raw_dir.is_dir():
        if args.raw is not None or os.environ.get(paths.RAW_DIR_ENV):
            raise UsageError(f"The landing directory {raw_dir} given by --raw does not exist.")
        settings.generated_sample = True
    if settings.warehouse.exists() and settings.warehouse.is_dir():
        raise UsageError(f"--warehouse {settings.warehouse} is a directory; give a DuckDB file path.")
    return settings


def command_run(args: argparse.Namespace) -> int:
    from orchestration.runner import run_pipeline

    settings = resolve_run_settings(args)
    if settings.generated_sample:
        from orchestration.lib.generator import generate

        end = date.fromisoformat(settings.vars["as_of_date"]) if "as_of_date" in settings.vars \
            else datetime.now(UTC).date()
        print(f"No landing directory at {settings.raw_dir}: generating the scale-1 sample there.", file=sys.stderr)
        generate(settings.raw_dir, scale=1.0, seed=0, end_date=end)
    outcome = run_pipeline(settings)
    print(outcome.summary)
    return 0 if outcome.success else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return command_generate(args)
        return command_run(args)
    except UsageError as error:
        print(f"expansion: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("expansion: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
