"""The plans table: a ladder of tiers per plan family, each adding features, limits growing with the tier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from orchestration.lib.generator.arrays import money
from orchestration.lib.generator.catalogue.constants import ANNUAL, ANNUAL_FACTOR, MONTHLY, PERIODS
from orchestration.lib.generator.tables import contract_table

PLAN_FAMILIES = ("Workspace", "Insights")
WORKSPACE, INSIGHTS = range(len(PLAN_FAMILIES))
PLAN_TIERS = {  # family -> (tier name, monthly USD price, seat limit, storage GB, API calls / month, new features)
    "Workspace": (
        ("Starter", 8, 10, 100, 10_000, ("core", "chat")),
        ("Team", 15, 50, 1_000, 100_000, ("guests", "integrations")),
        ("Business", 30, 250, 5_000, 1_000_000, ("sso", "audit_log", "advanced_analytics")),
        ("Enterprise", 60, None, None, None, ("scim", "data_residency", "custom_roles")),
    ),
    "Insights": (
        ("Basic", 49, 5, 50, 50_000, ("dashboards", "csv_export")),
        ("Plus", 149, 20, 500, 500_000, ("scheduled_reports", "alerts")),
        ("Premium", 399, None, None, None, ("forecasting", "anomaly_detection", "embedded_analytics")),
    ),
}
FAMILY_CODE = {"Workspace": "ws", "Insights": "in"}
FAMILY_PERIODS = {"Workspace": (MONTHLY, ANNUAL), "Insights": (MONTHLY,)}
MAX_TIERS = 5  # width of the [family, tier] arrays (tier 0 unused)


@dataclass(frozen=True)
class Plans:
    """The plan ladder: per plan number (see `plan_index`) and per [family, tier], and the plans table."""

    ids: pa.Array
    usd: np.ndarray  # price per period
    seat_limit: np.ndarray  # float, inf = unlimited
    storage_limit: np.ndarray
    api_limit: np.ndarray
    table: pa.Table  # plans
    features: tuple[str, ...]
    feature_start: np.ndarray  # [family, tier] -> first index in `features` of the tier's new features
    feature_count: np.ndarray  # [family, tier] -> number of new features at that tier
    max_tier: np.ndarray  # [family]
    tier_seat_limit: np.ndarray  # [family, tier] (tier 0 unused)


def plan_index(family: np.ndarray, tier: np.ndarray, period: np.ndarray) -> np.ndarray:
    """The plan number: Workspace 0..7 as (tier-1)*2 + period; Insights 8..10 (monthly only)."""
    return np.where(family == WORKSPACE, (tier - 1) * 2 + period, 8 + tier - 1)


def build_plans() -> Plans:
    """The plans (no randomness)."""
    rows = _plan_rows()
    usd = np.array([row["price"] for row in rows])
    table = contract_table("plans", {
        **{key: pa.array([row[key] for row in rows]) for key in
           ("plan_id", "name", "family", "tier", "billing_period", "per_seat", "currency", "features")},
        "price": money(usd, 2),
        "seat_limit": pa.array([row["seat_limit"] for row in rows], pa.int32()),
        "storage_limit_gb": pa.array([row["storage_limit_gb"] for row in rows], pa.float64()),
        "api_calls_limit": pa.array([row["api_calls_limit"] for row in rows], pa.int64()),
    })
    features, feature_start, feature_count, tier_seat_limit = _feature_ladder()
    return Plans(
        ids=table.column("plan_id").combine_chunks(), usd=usd, seat_limit=_limit(rows, "seat_limit"),
        storage_limit=_limit(rows, "storage_limit_gb"), api_limit=_limit(rows, "api_calls_limit"), table=table,
        features=features, feature_start=feature_start, feature_count=feature_count,
        max_tier=np.array([len(PLAN_TIERS[family]) for family in PLAN_FAMILIES]), tier_seat_limit=tier_seat_limit,
    )


def _plan_rows() -> list[dict[str, Any]]:
    """One row per family, tier and billing period, in plan-number order; features accumulate up the ladder."""
    rows: list[dict[str, Any]] = []
    for family in PLAN_FAMILIES:
        included: list[str] = []
        for tier, (tier_name, price, seats, storage, api, new) in enumerate(PLAN_TIERS[family], start=1):
            included.extend(new)
            for period in FAMILY_PERIODS[family]:
                rows.append({
                    "plan_id": f"pln_{FAMILY_CODE[family]}{tier}_{'mo' if period == MONTHLY else 'yr'}",
                    "name": f"{family} {tier_name}" + (" (annual)" if period else ""),
                    "family": family, "tier": tier, "billing_period": PERIODS[period],
                    "price": float(price * (ANNUAL_FACTOR if period else 1)),
                    "per_seat": family == "Workspace", "currency": "USD", "seat_limit": seats,
                    "storage_limit_gb": None if storage is None else float(storage), "api_calls_limit": api,
                    "features": ";".join(included),
                })
    return rows


def _feature_ladder() -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """All features in ladder order, where each [family, tier]'s new ones start, how many, and its seat limit."""
    features: list[str] = []
    feature_start = np.zeros((len(PLAN_FAMILIES), MAX_TIERS), dtype=np.int64)
    feature_count = np.zeros((len(PLAN_FAMILIES), MAX_TIERS), dtype=np.int64)
    tier_seat_limit = np.full((len(PLAN_FAMILIES), MAX_TIERS), np.inf)
    for family_index, family in enumerate(PLAN_FAMILIES):
        for tier, (_name, _price, seats, _storage, _api, new) in enumerate(PLAN_TIERS[family], start=1):
            feature_start[family_index, tier] = len(features)
            feature_count[family_index, tier] = len(new)
            features.extend(new)
            tier_seat_limit[family_index, tier] = np.inf if seats is None else seats
    return tuple(features), feature_start, feature_count, tier_seat_limit


def _limit(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    """A limit per plan as floats, inf where unlimited."""
    return np.array([np.inf if row[key] is None else float(row[key]) for row in rows])
