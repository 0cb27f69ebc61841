"""Every setting the project reads, with its type and range, resolved once into one `Settings` object.

Two kinds of settings exist: environment variables (`EXPANSION_*`, the vendors' base URLs) and dbt vars (the
thresholds in `dbt_project/dbt_project.yml`, overridden with `--var KEY=VALUE`). Each has a `Setting` here that
says what it accepts; a value outside it raises `SettingsError`, whose message is one sentence naming the setting
and what it accepts. The command line builds `Settings` from its options and the environment; the Dagster
definitions build it from the environment alone; both then hand it on as resource configuration, and nothing
writes the environment back.

Vendor secrets are not part of `Settings`: the Dagster resources declare them with `dg.EnvVar`, so their values
never pass through Python objects of ours. `Settings` only records which of them are set (the outbox stands in for
a vendor whose credential is not).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from orchestration.lib import paths
from orchestration.lib.contract import TABLE_NAMES


class SettingsError(Exception):
    """A setting outside what it accepts; the message is one sentence naming it."""


# --- one setting ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A named setting: how to read its text and what it accepts (`accepts` is said in the error sentence)."""

    name: str
    accepts: str  # e.g. "a whole number of at least 1"
    parse: Callable[[str], Any]  # text -> value; raises ValueError when the text is not acceptable
    description: str = ""

    def read(self, text: str, where: str) -> Any:
        """The value of `text`, or SettingsError naming the setting, `where` it came from and what it accepts."""
        try:
            return self.parse(text.strip())
        except SettingsError:
            raise
        except (ValueError, TypeError):
            raise SettingsError(f"{where} must be {self.accepts}, not {text.strip()!r}.") from None


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(text)
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(text)
        return value

    return parse


def number(minimum: float, maximum: float | None = None, *, above_minimum: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        too_low = value <= minimum if above_minimum else value < minimum
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise ValueError(text)
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value

    return parse


def iso_date(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return date.fromisoformat(text).isoformat()


def choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(text)
        return text

    return parse


def choice_pattern(pattern: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not re.fullmatch(pattern, text):
            raise ValueError(text)
        return text

    return parse


def http_url(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text):
        raise ValueError(text)
    return text


def directory_path(text: str) -> Path:
    if not text:
        raise ValueError(text)
    return Path(text).expanduser().resolve()


def priority_weights(text: str) -> dict[str, float]:
    """`{utilisation: 0.5, mrr_at_stake: 0.3, freshness: 0.2}` (YAML or JSON): three shares that add up to 1."""
    import yaml

    value = yaml.safe_load(text)
    expected = {"utilisation", "mrr_at_stake", "freshness"}
    if not isinstance(value, Mapping) or set(value) != expected:
        raise ValueError(text)
    weights = {key: float(value[key]) for key in sorted(expected)}
    if any(not 0 <= weight <= 1 for weight in weights.values()) or abs(sum(weights.values()) - 1) > 1e-9:
        raise ValueError(text)
    return weights


SHARE = "a share between 0 and 1 (e.g. 0.05)"


def _var(name: str, accepts: str, parse: Callable[[str], Any], description: str = "") -> Setting:
    return Setting(name, accepts, parse, description)


# --- dbt vars (defaults and reasons in dbt_project/dbt_project.yml) --------------------------------------------------

DBT_VARS: dict[str, Setting] = {setting.name: setting for setting in (
    _var("as_of_date", "an ISO date like 2026-11-22", iso_date, "the as-of instant is the end of this day, UTC"),
    _var("cross_sell_lookback_days", "a whole number of days, at least 1", whole_number(1)),
    _var("cross_sell_min_pair_orders", "a whole number of at least 1", whole_number(1)),
    _var("cross_sell_min_lift", "a number of at least 0", number(0)),
    _var("cross_sell_top_n", "a whole number from 1 to 50", whole_number(1, 50)),
    _var("cross_sell_send_after_hours", "a whole number of hours, at least 0", whole_number(0)),
    _var("cross_sell_send_before_hours", "a whole number of hours, at least 1", whole_number(1)),
    _var("upsell_signal_window_days", "a whole number of days, at least 1", whole_number(1)),
    _var("upsell_seat_baseline_lookback_days", "a whole number of days, at least 0", whole_number(0)),
    _var("upsell_near_limit_threshold", "a share above 0 and at most 1 (e.g. 0.9)", number(0, 1, above_minimum=True)),
    _var("upsell_seat_growth_threshold", "a number above 0 (0.2 = +20 %)", number(0, above_minimum=True)),
    _var("upsell_seat_growth_min_seats", "a whole number of seats, at least 0", whole_number(0)),
    _var("upsell_blocked_feature_min_events", "a whole number of at least 1", whole_number(1)),
    _var("upsell_min_account_age_days", "a whole number of days, at least 0", whole_number(0)),
    _var("upsell_cooldown_days", "a whole number of days, at least 0", whole_number(0)),
    _var("upsell_sales_min_expansion_mrr", "an amount in USD of at least 0", number(0)),
    _var("upsell_priority_weights",
         "three shares utilisation, mrr_at_stake and freshness that add up to 1 (e.g. "
         "'{utilisation: 0.5, mrr_at_stake: 0.3, freshness: 0.2}')", priority_weights),
    _var("upsell_priority_full_mrr", "an amount in USD above 0", number(0, above_minimum=True)),
    _var("revenue_naive_check_customers", "a whole number of at least 0", whole_number(0)),
    _var("cross_sell_holdout_share", SHARE, number(0, 1), "share of customers held out of cross-sell e-mails"),
    _var("upsell_holdout_share", SHARE, number(0, 1), "share of customers held out of upgrade routing"),
    _var("cross_sell_frequency_cap_days", "a whole number of days, at least 0 (0: no cap)", whole_number(0),
         "at most one cross-sell e-mail per contact in this many days"),
    _var("cross_sell_outcome_window_days", "a whole number of days, at least 1", whole_number(1),
         "a recommendation converts when its product is ordered within this many days"),
    _var("upsell_outcome_window_days", "a whole number of days, at least 1", whole_number(1),
         "a flag converts when the account moves to a higher tier within this many days"),
)}

# Vars the pipeline sets itself; a user gives them through the option named instead.
RESERVED_VARS = {"warehouse_path": "--warehouse"}


def parse_dbt_vars(pairs: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs (the `--var` options) into typed dbt vars, each checked against its Setting."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SettingsError(f"--var expects KEY=VALUE, not {pair!r}.")
        if key in RESERVED_VARS:
            raise SettingsError(f"--var {key} is set by the pipeline; use {RESERVED_VARS[key]} instead.")
        if key not in DBT_VARS:
            raise SettingsError(f"--var {key} is not a dbt var of this project; the vars are "
                                f"{', '.join(sorted(DBT_VARS))} (see dbt_project/dbt_project.yml).")
        values[key] = DBT_VARS[key].read(text, f"--var {key}")
    check_var_combinations(values)
    return values


def check_var_combinations(values: Mapping[str, Any]) -> None:
    """Rules between vars; only those given are compared (the defaults in dbt_project.yml obey them)."""
    after, before = values.get("cross_sell_send_after_hours"), values.get("cross_sell_send_before_hours")
    if after is not None and before is not None and before <= after:
        raise SettingsError(f"--var cross_sell_send_before_hours ({before}) must be greater than "
                            f"cross_sell_send_after_hours ({after}): the send window would be empty.")


# --- environment variables -------------------------------------------------------------------------------------------

RAW_DIR_ENV = "EXPANSION_RAW_DIR"
DBT_PROJECT_DIR_ENV = "EXPANSION_DBT_PROJECT_DIR"
WAREHOUSE_ENV = "EXPANSION_WAREHOUSE"
OUTBOX_ENV = "EXPANSION_OUTBOX"
DBT_TARGET_PATH_ENV = "EXPANSION_DBT_TARGET_PATH"
EXPECTATIONS_DIR_ENV = "EXPANSION_EXPECTATIONS_DIR"
MAX_QUARANTINE_SHARE_ENV = "EXPANSION_MAX_QUARANTINE_SHARE"
DBT_THREADS_ENV = "EXPANSION_DBT_THREADS"  # read by dbt_project/profiles.yml
TARGET_ENV = "EXPANSION_TARGET"  # the engine: duckdb or spark (dbt's target of the same name)
SPARK_WAREHOUSE_ENV = "EXPANSION_SPARK_WAREHOUSE"  # the Spark warehouse directory (default: beside the DuckDB file)
SPARK_MASTER_ENV = "EXPANSION_SPARK_MASTER"  # Spark's master URL (also read by dbt_project/profiles.yml)
PUBLISH_DIR_ENV = "EXPANSION_PUBLISH_DIR"  # where BI tools read the marts (default: published/ beside the warehouse)
DAGSTER_HOME_ENV = "DAGSTER_HOME"  # Dagster's own: the instance that keeps the runs (default: dagster_home/)
DEFAULT_SPARK_MASTER = "local[2]"
DEFAULT_MAX_QUARANTINE_SHARE = 0.05  # a table quarantining more than 5 % of its rows fails its check

# --- the gates on volume and freshness (lib/volume.py, lib/freshness.py) ---------------------------------------------

VOLUME_MAX_CHANGE_ENV = "EXPANSION_VOLUME_MAX_CHANGE"
FRESHNESS_HOURS_ENV = "EXPANSION_FRESHNESS_HOURS"

# A count more than this share below or above the median of the recent accepted runs fails (None: recorded only).
# Raw tables and the marts that grow slowly get ±50 %: a daily extract changes by a few per cent, losing half a
# table is a broken extract. Marts of one day's events are recorded, not judged, unless a share is set for them.
DEFAULT_VOLUME_MAX_CHANGE: dict[str, float | None] = {
    **dict.fromkeys(TABLE_NAMES, 0.5),
    "copurchase_pairs": 0.5, "mrr_monthly": 0.5, "nrr_monthly": 0.5, "nrr_monthly_by_segment": 0.5,
    "sync_hubspot__companies": 0.5,
    # The accounts flagged on the as-of date (a first run flags every account, the next days only those out of
    # their cool-down) and the post-purchase recommendations of one day's deliveries swing by nature.
    "upgrade_trigger_accounts": None, "cross_sell_recommendations": None, "sync_klaviyo__cross_sell_events": None,
    # The outcome marts accumulate the send and flag history: they double in their first days and start again
    # after a --full-refresh, so they are recorded, not judged.
    "cross_sell_outcomes": None, "upgrade_outcomes": None, "expansion_programme_lift": None,
}
# The newest order and usage event may be at most two days older than the as-of instant (a daily extract that
# missed one day still passes); subscription changes come less often, so a week.
DEFAULT_FRESHNESS_HOURS: dict[str, float | None] = {"orders": 48, "usage_events": 48, "subscription_items": 168}


def share_or_off(text: str) -> float | None:
    return None if text == "off" else number(0, 10)(text)


def hours_or_off(text: str) -> float | None:
    return None if text == "off" else number(0, above_minimum=True)(text)


def per_table(defaults: Mapping[str, float | None], parse_value: Callable[[str], float | None], setting: str,
              accepts: str) -> Callable[[str], dict[str, float | None]]:
    """`0.3` (every table) or `orders=0.3,usage_events=off` (those tables; the others keep their defaults)."""

    def parse(text: str) -> dict[str, float | None]:
        values = dict(defaults)
        if "=" not in text:
            return dict.fromkeys(values, parse_value(text))
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            if name.strip() not in values:
                raise SettingsError(f"The environment variable {setting} names {name.strip()!r}, which is not one "
                                    f"of {', '.join(sorted(values))}.")
            values[name.strip()] = Setting(setting, accepts, parse_value).read(
                value, f"The environment variable {setting} for {name.strip()}")
        return values

    return parse


ENVIRONMENT: dict[str, Setting] = {setting.name: setting for setting in (
    Setting(RAW_DIR_ENV, "a directory path", directory_path, "the landing directory"),
    Setting(WAREHOUSE_ENV, "a file path", directory_path, "the DuckDB warehouse file"),
    Setting(OUTBOX_ENV, "a directory path", directory_path, "where syncs deliver without vendor credentials"),
    Setting(DBT_TARGET_PATH_ENV, "a directory path", directory_path, "dbt's target folder"),
    Setting(DBT_PROJECT_DIR_ENV, "a directory path", directory_path, "the dbt project (default dbt_project/)"),
    Setting(EXPECTATIONS_DIR_ENV, "a directory path", directory_path, "the Great Expectations suites"),
    Setting(MAX_QUARANTINE_SHARE_ENV, SHARE, number(0, 1), "the largest share of a table's rows quarantined"),
    Setting(DBT_THREADS_ENV, "a whole number from 1 to 64", whole_number(1, 64), "dbt's threads"),
    Setting(TARGET_ENV, "duckdb or spark", choice("duckdb", "spark"), "the engine"),
    Setting(PUBLISH_DIR_ENV, "a directory path", directory_path, "where the published marts for BI tools are"),
    Setting(DAGSTER_HOME_ENV, "a directory path", directory_path, "the Dagster instance keeping every run"),
    Setting(SPARK_WAREHOUSE_ENV, "a directory path", directory_path, "the Spark warehouse (tables and metastore)"),
    Setting(SPARK_MASTER_ENV, "a Spark master URL such as local[2] or spark://host:7077",
            choice_pattern(r"(local(\[(\d+|\*)\])?|(spark|yarn|k8s|mesos)(://\S+)?)"), "Spark's master"),
    Setting(VOLUME_MAX_CHANGE_ENV, "a share like 0.5, or TABLE=SHARE pairs separated by commas (off: not judged)",
            per_table(DEFAULT_VOLUME_MAX_CHANGE, share_or_off, VOLUME_MAX_CHANGE_ENV, "a share like 0.5 or off"),
            "how far a count may move from the recent median"),
    Setting(FRESHNESS_HOURS_ENV, "hours like 48, or TABLE=HOURS pairs separated by commas (off: not judged)",
            per_table(DEFAULT_FRESHNESS_HOURS, hours_or_off, FRESHNESS_HOURS_ENV, "a number of hours or off"),
            "how old the newest event may be at the as-of instant"),
)}




def environment_value(env: Mapping[str, str], name: str, default: Any) -> Any:
    """The environment variable `name` read through its Setting, or `default` when it is unset or empty."""
    text = env.get(name, "").strip()
    return ENVIRONMENT[name].read(text, f"The environment variable {name}") if text else default


def vendor_setting(env: Mapping[str, str], name: str) -> str | None:
    """A vendor's base URL from the environment (checked), or None when unset."""
    text = env.get(name, "").strip()
    if not text:
        return None
    return Setting(name, "an http:// or https:// URL", http_url).read(text, f"The environment variable {name}")


# --- the one object --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once (see the module docstring)."""

    raw_dir: Path = paths.DEFAULT_RAW_DIR
    warehouse: Path = paths.DEFAULT_WAREHOUSE
    outbox: Path = paths.DEFAULT_OUTBOX
    dbt_target_path: Path = paths.DEFAULT_DBT_TARGET_PATH
    dbt_project_dir: Path = paths.DBT_PROJECT_DIR
    expectations_dir: Path = paths.DEFAULT_EXPECTATIONS_DIR
    max_quarantine_share: float = DEFAULT_MAX_QUARANTINE_SHARE
    volume_max_change: Mapping[str, float | None] = field(default_factory=lambda: dict(DEFAULT_VOLUME_MAX_CHANGE))
    freshness_hours: Mapping[str, float | None] = field(default_factory=lambda: dict(DEFAULT_FRESHNESS_HOURS))
    accept_volume_change: frozenset[str] = frozenset()  # tables whose change this run accepts on purpose
    dbt_vars: Mapping[str, Any] = field(default_factory=dict)
    sync: bool = True
    full_refresh: bool = False  # load every table from all its files and rebuild every incremental model
    credentials_set: frozenset[str] = frozenset()  # names of the vendor secrets present in the environment
    base_urls: Mapping[str, str] = field(default_factory=dict)  # vendor base-URL setting -> URL, when set
    target: str = "duckdb"  # the engine that loads and builds: duckdb or spark
    spark_warehouse: Path | None = None  # the Spark warehouse directory; None: beside the DuckDB file
    spark_master: str = DEFAULT_SPARK_MASTER
    publish_directory: Path | None = None  # None: published/ beside the warehouse file
    dagster_home: Path = paths.DEFAULT_DAGSTER_HOME

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *, credential_settings: Sequence[str] = (),
                         base_url_settings: Sequence[str] = ()) -> Settings:
        """The settings the environment gives (defaults for what it does not); SettingsError for a bad value."""
        env = os.environ if env is None else env
        return cls(
            raw_dir=environment_value(env, RAW_DIR_ENV, paths.DEFAULT_RAW_DIR),
            warehouse=environment_value(env, WAREHOUSE_ENV, paths.DEFAULT_WAREHOUSE),
            outbox=environment_value(env, OUTBOX_ENV, paths.DEFAULT_OUTBOX),
            dbt_target_path=environment_value(env, DBT_TARGET_PATH_ENV, paths.DEFAULT_DBT_TARGET_PATH),
            dbt_project_dir=environment_value(env, DBT_PROJECT_DIR_ENV, paths.DBT_PROJECT_DIR),
            expectations_dir=environment_value(env, EXPECTATIONS_DIR_ENV, paths.DEFAULT_EXPECTATIONS_DIR),
            max_quarantine_share=environment_value(env, MAX_QUARANTINE_SHARE_ENV, DEFAULT_MAX_QUARANTINE_SHARE),
            volume_max_change=environment_value(env, VOLUME_MAX_CHANGE_ENV, dict(DEFAULT_VOLUME_MAX_CHANGE)),
            freshness_hours=environment_value(env, FRESHNESS_HOURS_ENV, dict(DEFAULT_FRESHNESS_HOURS)),
            credentials_set=frozenset(name for name in credential_settings if env.get(name, "").strip()),
            base_urls={name: url for name in base_url_settings if (url := vendor_setting(env, name))},
            target=environment_value(env, TARGET_ENV, "duckdb"),
            spark_warehouse=environment_value(env, SPARK_WAREHOUSE_ENV, None),
            spark_master=environment_value(env, SPARK_MASTER_ENV, DEFAULT_SPARK_MASTER),
            publish_directory=environment_value(env, PUBLISH_DIR_ENV, None),
            dagster_home=environment_value(env, DAGSTER_HOME_ENV, paths.DEFAULT_DAGSTER_HOME),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def spark_dir(self) -> Path:
        """The Spark warehouse: EXPANSION_SPARK_WAREHOUSE, else a folder beside the DuckDB file (x.duckdb -> x.spark),
        which then keeps the pipeline's own bookkeeping (see lib/spark/warehouse.py)."""
        return self.spark_warehouse or self.warehouse.with_suffix(".spark")

    @property
    def publish_dir(self) -> Path:
        """Where the marts are published for BI tools: EXPANSION_PUBLISH_DIR, else `published/` beside the
        warehouse file (see lib/publish.py)."""
        return self.publish_directory or self.warehouse.parent / "published"

    @property
    def as_of_date(self) -> str:
        """The as-of date of the run: the dbt var when given, else today (UTC)."""
        return str(self.dbt_vars.get("as_of_date") or datetime.now(UTC).date().isoformat())

    def dbt_vars_for_build(self) -> dict[str, Any]:
        """The vars `dbt build` gets from the run: the user's (the as-of date reaches it through the as-of resource)."""
        return {name: value for name, value in self.dbt_vars.items() if name != "as_of_date"}


def accepted_tables(names: Sequence[str]) -> frozenset[str]:
    """The `--accept-volume-change` options: table names (raw, mart or sync model) or `all`."""
    known = set(DEFAULT_VOLUME_MAX_CHANGE)
    chosen = {name.strip() for name in names if name.strip()}
    if "all" in chosen:
        return frozenset(known)
    unknown = sorted(chosen - known)
    if unknown:
        raise SettingsError(f"--accept-volume-change {unknown[0]} is not a table the volume gate watches; use one of "
                            f"{', '.join(sorted(known))}, or all.")
    return frozenset(chosen)


def dbt_vars_json(values: Mapping[str, Any]) -> str:
    """dbt's `--vars` argument: the vars as JSON with sorted keys."""
    return json.dumps(dict(sorted(values.items())), sort_keys=True)
