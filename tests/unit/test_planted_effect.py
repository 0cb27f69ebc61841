"""The holdout assignment in Python equals the warehouse's, and the planted effect is planted where it says."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from orchestration.lib import paths
from orchestration.lib.generator import PlantedEffect, generate
from orchestration.lib.generator.effect import EffectPlanter
from orchestration.lib.generator.holdout import hash_fraction, held_out, is_held_out

END = date(2026, 11, 22)


def test_the_hash_fraction_is_the_first_32_bits_of_the_md5() -> None:
    # the fractions the dbt unit tests (macros/holdout.sql through int_cross_sell_send_history) are written with
    assert round(hash_fraction("cross_sell", "c10"), 4) == 0.0341
    assert round(hash_fraction("cross_sell", "c16"), 4) == 0.0948
    assert round(hash_fraction("upsell", "c11"), 4) == 0.0528
    assert is_held_out("cross_sell", "c16", 0.1) and not is_held_out("cross_sell", "c16", 0.09)
    assert held_out("upsell", ["c11", "c15"], 0.1).tolist() == [True, False]
    with pytest.raises(ValueError, match="programme must be one of"):
        hash_fraction("newsletter", "c1")


def test_duckdb_computes_the_same_assignment_as_the_macro() -> None:
    """The DuckDB expression of macros/holdout.sql, run on many ids, against hashlib."""
    macro = (paths.DBT_PROJECT_DIR / "macros" / "holdout.sql").read_text()
    expression = macro.split("{% macro duckdb__holdout_hash_fraction(programme, customer_id) -%}")[1]
    expression = expression.split("{%- endmacro %}")[0].strip()
    sql = (expression.replace("{{ programme }}", "upsell").replace("{{ customer_id }}", "customer_id"))
    con = duckdb.connect()
    rows = con.execute(f"select customer_id, {sql} from (select 'cus_' || lpad(cast(i as varchar), 8, '0') "
                       "as customer_id from range(2000) as ids (i))").fetchall()
    assert all(fraction == hash_fraction("upsell", customer_id) for customer_id, fraction in rows)
    share = sum(fraction < 0.1 for _, fraction in rows) / len(rows)
    assert 0.08 < share < 0.12


def test_an_effect_must_fit_before_the_end_and_have_sound_rates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end by the generation's end date"):
        generate(tmp_path / "late", scale=0.01, end_date=END, effect=PlantedEffect(send_date=date(2026, 11, 1)))
    with pytest.raises(ValueError, match="cross_sell_rates must be two probabilities"):
        PlantedEffect(send_date=date(2026, 10, 1), cross_sell_rates=(0.1, 1.5))
    assert PlantedEffect(send_date=date(2026, 10, 1)).planted_lift("upsell") == pytest.approx(0.25)


@pytest.fixture(scope="module")
def landings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("effect")
    effect = PlantedEffect(send_date=date(2026, 10, 15), holdout_share=0.3)
    generate(folder / "with", scale=0.1, seed=3, end_date=END, effect=effect)
    generate(folder / "without", scale=0.1, seed=3, end_date=END)
    return folder / "with", folder / "without"


def test_the_effect_draws_from_its_own_stream_and_says_so(landings: tuple[Path, Path]) -> None:
    planted, plain = landings
    report = json.loads((planted / "_generation.json").read_text())
    assert report["planted_effect"]["send_date"] == "2026-10-15"
    assert "planted_effect" not in json.loads((plain / "_generation.json").read_text())
    # the tables the effect does not touch are byte for byte those of a generation without it
    for table in ("customers", "contacts", "usage_events", "products.parquet", "plans.parquet"):
        files = sorted((planted / table).glob("*")) if (planted / table).is_dir() else [planted / table]
        assert files and all(path.read_bytes() == (plain / path.relative_to(planted)).read_bytes() for path in files)


def planter(holdout_rate: float, treated_rate: float) -> EffectPlanter:
    effect = PlantedEffect(send_date=date(2026, 10, 15), cross_sell_rates=(holdout_rate, treated_rate),
                           upsell_rates=(holdout_rate, treated_rate), holdout_share=0.5)
    return EffectPlanter(effect, np.random.default_rng(1))


CUSTOMERS = pa.array([f"cus_{number:08d}" for number in range(40)])
# products 0 (a camera) and 3 (a drone) have partners 1, 2 and 1, 4: 1 is an accessory of both
PARTNERS = np.array([[1, 2], [-1, -1], [-1, -1], [1, 4], [-1, -1], [-1, -1]])


def test_follow_ups_go_to_treated_customers_with_every_product_a_rule_could_propose() -> None:
    owner = np.arange(40)  # one order each, delivered in the window, with the camera on it
    lines = (np.arange(40), np.zeros(40, dtype=np.int64))
    buyers, ordered, line_order, products = planter(0.0, 1.0).follow_ups(
        CUSTOMERS, owner, np.ones(40, dtype=bool), *lines, PARTNERS)
    treated = {number for number in range(40) if not is_held_out("cross_sell", CUSTOMERS[number].as_py(), 0.5)}
    assert 0 < len(treated) < 40 and set(buyers) == treated and len(buyers) == len(treated)
    # one order per taker holding every product two steps along the partner graph: partners 1 and 2, through
    # them the drone (3) and the camera itself (owned, so never recommended: harmless); the drone's own partner
    # 4 is three steps away
    for order in range(len(buyers)):
        assert sorted(products[line_order == order]) == [0, 1, 2, 3]
    send = PlantedEffect(send_date=date(2026, 10, 15)).send_instant
    assert ordered.min() > send and ordered.max() < send + 30 * 86_400
    assert len(planter(0.0, 0.0).follow_ups(CUSTOMERS, owner, np.ones(40, dtype=bool), *lines, PARTNERS)[0]) == 0


def test_upgrades_go_to_treated_eligible_subscriptions_before_their_churn() -> None:
    send = PlantedEffect(send_date=date(2026, 10, 15)).send_instant
    eligible = np.arange(40) % 4 != 0
    last_moment = np.where(np.arange(40) % 5 == 0, send + 3 * 86_400, np.iinfo(np.int64).max)
    subscriptions, times = planter(0.0, 1.0).upgrades(CUSTOMERS, np.arange(40), eligible, last_moment)
    expected = {number for number in range(40)
                if eligible[number] and not is_held_out("upsell", CUSTOMERS[number].as_py(), 0.5)}
    assert set(subscriptions) == expected
    assert all(send < time < last_moment[number] for number, time in zip(subscriptions, times, strict=True))
