"""Every setting has a type and a range; a bad one is one sentence naming it, before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from orchestration.lib import paths
from orchestration.lib.settings import (
    DBT_VARS,
    MAX_QUARANTINE_SHARE_ENV,
    Settings,
    SettingsError,
    dbt_vars_json,
    parse_dbt_vars,
)


def project_vars() -> dict:
    return yaml.safe_load((paths.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def test_every_dbt_var_of_the_project_has_a_setting_and_its_default_is_accepted() -> None:
    defaults = project_vars()
    assert set(defaults) == set(DBT_VARS)
    for name, default in defaults.items():
        if name == "as_of_date":
            continue  # empty means today
        text = default if isinstance(default, str) else json.dumps(default)
        assert DBT_VARS[name].read(str(text), name) == default, name


@pytest.mark.parametrize(("pair", "sentence"), [
    ("cross_sell_top_n=abc", "--var cross_sell_top_n must be a whole number from 1 to 50, not 'abc'."),
    ("cross_sell_min_lift=-1", "--var cross_sell_min_lift must be a number of at least 0, not '-1'."),
    ("upsell_near_limit_threshold=1.5",
     "--var upsell_near_limit_threshold must be a share above 0 and at most 1 (e.g. 0.9), not '1.5'."),
    ("cross_sell_lookback_days=0", "--var cross_sell_lookback_days must be a whole number of days, at least 1, "
                                   "not '0'."),
    ("as_of_date=22/11/2026", "--var as_of_date must be an ISO date like 2026-11-22, not '22/11/2026'."),
    ("as_of_date=2026-02-30", "--var as_of_date must be an ISO date like 2026-11-22, not '2026-02-30'."),
    ("as_of_date", "--var expects KEY=VALUE, not 'as_of_date'."),
    ("warehouse_path=/tmp/x", "--var warehouse_path is set by the pipeline; use --warehouse instead."),
    ("upsell_priority_weights={utilisation: 0.9, mrr_at_stake: 0.3, freshness: 0.2}",
     "--var upsell_priority_weights must be three shares utilisation, mrr_at_stake and freshness that add up to 1"),
])
def test_a_bad_var_is_one_sentence_naming_it(pair: str, sentence: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_dbt_vars([pair])
    assert str(raised.value).startswith(sentence)
    assert str(raised.value).endswith(".") and "\n" not in str(raised.value)


def test_an_unknown_var_names_itself_and_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"^--var min_pair_orders is not a dbt var of this project; the vars "
                                            r"are as_of_date, cross_sell_frequency_cap_days, .*dbt_project.yml\)\.$"):
        parse_dbt_vars(["min_pair_orders=5"])


def test_a_send_window_that_closes_before_it_opens_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"cross_sell_send_before_hours \(24\) must be greater than "
                                            r"cross_sell_send_after_hours \(30\)"):
        parse_dbt_vars(["cross_sell_send_after_hours=30", "cross_sell_send_before_hours=24"])


def test_good_vars_come_back_typed() -> None:
    values = parse_dbt_vars(["as_of_date=2026-11-22", "cross_sell_top_n=5", "cross_sell_min_lift=2.5",
                             "upsell_priority_weights={utilisation: 0.6, mrr_at_stake: 0.2, freshness: 0.2}"])
    assert values == {"as_of_date": "2026-11-22", "cross_sell_top_n": 5, "cross_sell_min_lift": 2.5,
                      "upsell_priority_weights": {"freshness": 0.2, "mrr_at_stake": 0.2, "utilisation": 0.6}}
    assert dbt_vars_json({"b": 1, "a": "x"}) == '{"a": "x", "b": 1}'


@pytest.mark.parametrize(("value", "sentence"), [
    ("lots", f"The environment variable {MAX_QUARANTINE_SHARE_ENV} must be a share between 0 and 1 (e.g. 0.05), "
             "not 'lots'."),
    ("1.5", f"The environment variable {MAX_QUARANTINE_SHARE_ENV} must be a share between 0 and 1 (e.g. 0.05), "
            "not '1.5'."),
])
def test_a_bad_environment_setting_is_one_sentence_naming_it(value: str, sentence: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environment({MAX_QUARANTINE_SHARE_ENV: value})
    assert str(raised.value) == sentence


def test_the_environment_gives_paths_shares_and_which_secrets_are_set(tmp_path: Path) -> None:
    settings = Settings.from_environment(
        {"EXPANSION_WAREHOUSE": str(tmp_path / "w.duckdb"), MAX_QUARANTINE_SHARE_ENV: "0.2",
         "HUBSPOT_ACCESS_TOKEN": "secret", "KLAVIYO_API_KEY": " ", "HUBSPOT_BASE_URL": "http://127.0.0.1:9"},
        credential_settings=["HUBSPOT_ACCESS_TOKEN", "KLAVIYO_API_KEY"],
        base_url_settings=["HUBSPOT_BASE_URL", "KLAVIYO_BASE_URL"])
    assert settings.warehouse == tmp_path / "w.duckdb"
    assert settings.max_quarantine_share == 0.2
    assert settings.credentials_set == frozenset({"HUBSPOT_ACCESS_TOKEN"})
    assert settings.base_urls == {"HUBSPOT_BASE_URL": "http://127.0.0.1:9"}
    assert "secret" not in repr(settings)
    defaults = Settings.from_environment({})
    assert defaults.raw_dir == paths.DEFAULT_RAW_DIR and defaults.max_quarantine_share == 0.05


def test_a_bad_base_url_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^The environment variable KLAVIYO_BASE_URL must be an http:// or "
                                            r"https:// URL, not 'a\.klaviyo\.com'\.$"):
        Settings.from_environment({"KLAVIYO_BASE_URL": "a.klaviyo.com"}, base_url_settings=["KLAVIYO_BASE_URL"])
