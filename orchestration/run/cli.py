"""The `expansion` command: generate sample data, run the whole Dagster job in-process."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from orchestration.lib import paths
from orchestration.lib.settings import RAW_DIR_ENV, Settings, SettingsError, accepted_tables, parse_dbt_vars


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
    run.add_argument("--full-refresh", action="store_true",
                     help="load every table from all its files and rebuild every incremental model")
    run.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="dbt var (repeatable)")
    run.add_argument("--accept-volume-change", action="append", default=[], metavar="TABLE",
                     help="accept a real drop or jump of this table's row count on purpose: this run's count becomes "
                          "the new baseline of the volume gate (repeatable; `all` for every table)")

    report = commands.add_parser("report", help="write a static HTML report of the marts (charts, offline)")
    report.add_argument("--warehouse", type=Path, default=None,
                        help="DuckDB file to read (default warehouse/expansion.duckdb, or EXPANSION_WAREHOUSE)")
    report.add_argument("--out", required=True, type=Path, help="directory to write index.html into")
    return parser


def command_report(args: argparse.Namespace) -> int:
    from orchestration.lib.report import ReportError, write_report

    warehouse = args.warehouse.resolve() if args.warehouse else Settings.from_environment().warehouse
    try:
        result = write_report(warehouse, args.out.resolve())
    except ReportError as error:
        raise SettingsError(str(error)) from None
    missing = f" ({', '.join(result.missing)} not in the warehouse yet)" if result.missing else ""
    print(f"Wrote {result.path} with {result.charts} charts from {warehouse}{missing}.")
    return 0


def command_generate(args: argparse.Namespace) -> int:
    from orchestration.lib.generator import generate

    if args.scale <= 0:
        raise SettingsError(f"--scale must be positive, not {args.scale}.")
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


def run_settings(args: argparse.Namespace, environment: Settings) -> Settings:
    """The run's settings: the environment's, with the command line's options on top, all checked."""
    settings = environment.with_overrides(
        raw_dir=args.raw.resolve() if args.raw else environment.raw_dir,
        warehouse=args.warehouse.resolve() if args.warehouse else environment.warehouse,
        outbox=args.outbox.resolve() if args.outbox else environment.outbox,
        sync=not args.no_sync,
        full_refresh=args.full_refresh,
        dbt_vars=parse_dbt_vars(args.var),
        accept_volume_change=accepted_tables(args.accept_volume_change),
    )
    if settings.warehouse.is_dir():
        raise SettingsError(f"--warehouse {settings.warehouse} is a directory; give a DuckDB file path.")
    return settings


def landing_given(args: argparse.Namespace, environment: Settings) -> str | None:
    """Which option or variable named the landing directory, or None when it is the default."""
    if args.raw is not None:
        return "--raw"
    return RAW_DIR_ENV if environment.raw_dir != paths.DEFAULT_RAW_DIR else None


def command_run(args: argparse.Namespace) -> int:
    from orchestration.defs.resources import settings_from_environment

    environment = settings_from_environment()
    settings = run_settings(args, environment)
    if not settings.raw_dir.is_dir():
        given = landing_given(args, environment)
        if given:
            raise SettingsError(f"The landing directory {settings.raw_dir} given by {given} does not exist.")
        from orchestration.lib.generator import generate

        print(f"No landing directory at {settings.raw_dir}: generating the scale-1 sample there.", file=sys.stderr)
        generate(settings.raw_dir, scale=1.0, seed=0, end_date=date.fromisoformat(settings.as_of_date))
    from orchestration.run.pipeline import run_pipeline

    outcome = run_pipeline(settings)
    print(outcome.summary)
    return 0 if outcome.success else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return command_generate(args)
        if args.command == "report":
            return command_report(args)
        return command_run(args)
    except SettingsError as error:
        print(f"expansion: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("expansion: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
