"""The sync suites in expectations/, validate_frame and validate_sync_table: good frames pass, each planted bad row
fails by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.names import SYNC_SCHEMA
from orchestration.lib.validation import (
    DEFAULT_EXPECTATIONS_DIR,
    ValidationOutcome,
    suite_names,
    validate_frame,
    validate_sync_table,
)

HUBSPOT = "sync_hubspot__companies"
KLAVIYO = "sync_klaviyo__cross_sell_events"
ROWS = 5


def hubspot_frame() -> pd.DataFrame:
    """Five accounts as the HubSpot sync sends them: all text, one without domain or recommended plan."""
    keys = [f"cus_{i:04d}" for i in range(ROWS)]
    return pd.DataFrame({
        "record_key": keys,
        "expansion_customer_id": keys,
        "name": ["Acme", "Beta GmbH", "Corvid", "Delta", "Eon"],
        "domain": ["acme.com", "beta.de", None, "delta.co.uk", "eon-labs.io"],
        "expansion_current_plan": ["Starter", "Growth", "Growth", "Scale", "Starter"],
        "expansion_recommended_plan": ["Growth", "Scale", "Scale", None, "Growth"],
        "expansion_triggers": ["near_seat_limit", "near_seat_limit;fast_seat_growth", "near_api_limit",
                               "blocked_premium_feature", "near_storage_limit;near_api_limit;fast_seat_growth"],
        "expansion_evidence": ["46 of 50 seats", "seats +40% in 30 days", "92% of API calls", "SSO blocked 4x",
                               "storage 95%"],
        "expansion_expected_mrr": ["1869.00", "0.00", "12.50", "240.00", "99.99"],
        "expansion_priority_score": ["93.5", "100", "0", "41.25", "7.0"],
        "expansion_route": ["sales", "customer_success", "sales", "sales", "customer_success"],
        "expansion_flagged_at": ["2026-11-23T00:00:00Z"] * ROWS,
        "holdout_programme": [None] * ROWS,
    })


def klaviyo_frame() -> pd.DataFrame:
    """Five consented contacts' cross-sell events with a one-week send window."""
    keys = [f"xsell_{i:04d}" for i in range(ROWS)]
    send_after = pd.Timestamp("2026-11-23T00:00:00Z")
    return pd.DataFrame({
        "record_key": keys,
        "unique_id": keys,
        "metric_name": ["Cross-sell recommendation"] * ROWS,
        "email": ["ann@acme.com", "bob.smith+shop@beta.de", "c.o'neil@corvid.co.uk", "dee@delta.io", "eve@eon.com"],
        "contact_id": [f"k{i}" for i in range(ROWS)],
        "customer_id": [f"c{i}" for i in range(ROWS)],
        "first_name": ["Ann", "Bob", None, "Dee", "Eve"],
        "source_order_id": [f"o{i}" for i in range(ROWS)],
        "source_product_id": [f"p{i}" for i in range(ROWS)],
        "source_product_name": ["Camera", "Card", "Tripod", "Lens", "Bag"],
        "recommended_products": ['[{"product_id": "p9", "name": "Card"}]'] * ROWS,
        "recommendation_count": [1, 3, 10, 2, 5],
        "send_after": [send_after] * ROWS,
        "send_before": [send_after + pd.Timedelta(days=7)] * ROWS,
        "is_email_consented": [True] * ROWS,
        "holdout_programme": [None] * ROWS,
    })


FRAMES: dict[str, Callable[[], pd.DataFrame]] = {HUBSPOT: hubspot_frame, KLAVIYO: klaviyo_frame}


def expectations_in_file(suite: str) -> int:
    return len(json.loads((DEFAULT_EXPECTATIONS_DIR / f"{suite}.json").read_text())["expectations"])


def planted(suite: str, row: int, **values: object) -> pd.DataFrame:
    """The good frame of `suite` with `values` written into one row."""
    frame = FRAMES[suite]()
    for column, value in values.items():
        frame.loc[row, column] = value
    return frame


def failures_about(outcome: ValidationOutcome, column: str) -> list[str]:
    return [failure for failure in outcome.failures if failure.startswith(f"{column}:")]


def test_suite_names_lists_both_sync_suites() -> None:
    assert suite_names() == [HUBSPOT, KLAVIYO]


@pytest.mark.parametrize("suite", [HUBSPOT, KLAVIYO])
def test_good_frame_passes_every_expectation(suite: str) -> None:
    outcome = validate_frame(FRAMES[suite](), suite)

    assert outcome.failures == ()
    assert outcome.success
    assert outcome.evaluated == expectations_in_file(suite)
    assert outcome.rows == ROWS
    assert outcome.suite == suite


@pytest.mark.parametrize("suite", [HUBSPOT, KLAVIYO])
def test_empty_frame_with_the_right_columns_passes(suite: str) -> None:
    outcome = validate_frame(FRAMES[suite]().iloc[0:0], suite)

    assert outcome.success, outcome.failures
    assert outcome.rows == 0
    assert outcome.evaluated == expectations_in_file(suite)


@pytest.mark.parametrize(
    ("suite", "values", "column", "words"),
    [
        (HUBSPOT, {"expansion_priority_score": "12.5x"}, "expansion_priority_score", ["1 of 5 rows", "'12.5x'"]),
        (HUBSPOT, {"expansion_priority_score": "100.5"}, "expansion_priority_score", ["1 of 5 rows", "'100.5'"]),
        (HUBSPOT, {"expansion_expected_mrr": "-5.00"}, "expansion_expected_mrr", ["1 of 5 rows", "'-5.00'"]),
        (HUBSPOT, {"expansion_expected_mrr": "12.5"}, "expansion_expected_mrr", ["1 of 5 rows", "'12.5'"]),
        (HUBSPOT, {"expansion_route": "marketing"}, "expansion_route",
         ["1 of 5 rows are not one of ['customer_success', 'sales']", "'marketing'"]),
        (HUBSPOT, {"expansion_triggers": "near_seat_limit;churn_risk"}, "expansion_triggers",
         ["1 of 5 rows", "churn_risk"]),
        (HUBSPOT, {"expansion_triggers": "near_seat_limit;"}, "expansion_triggers",
         ["1 of 5 rows", "'near_seat_limit;'"]),
        (HUBSPOT, {"expansion_flagged_at": "2026-11-23 00:00:00"}, "expansion_flagged_at",
         ["1 of 5 rows", "'2026-11-23 00"]),
        (HUBSPOT, {"domain": "not a domain"}, "domain", ["1 of 5 rows", "'not a domain'"]),
        (HUBSPOT, {"name": None}, "name", ["1 of 5 rows are null"]),
        (HUBSPOT, {"expansion_evidence": None}, "expansion_evidence", ["1 of 5 rows are null"]),
        (HUBSPOT, {"expansion_route": None}, "expansion_route", ["1 of 5 rows are null"]),
        (HUBSPOT, {"expansion_customer_id": "cus_9999"}, "record_key and expansion_customer_id",
         ["1 of 5 rows where record_key differs from expansion_customer_id", "('cus_0002', 'cus_9999')"]),
        (KLAVIYO, {"is_email_consented": False}, "is_email_consented", ["1 of 5 rows are not one of [True]", "False"]),
        (KLAVIYO, {"holdout_programme": "cross_sell"}, "holdout_programme",
         ["1 of 5 rows are not one of []", "'cross_sell'"]),
        (HUBSPOT, {"holdout_programme": "upsell"}, "holdout_programme", ["1 of 5 rows are not one of []", "'upsell'"]),
        (KLAVIYO, {"metric_name": "Placed Order"}, "metric_name", ["1 of 5 rows", "'Placed Order'"]),
        (KLAVIYO, {"email": "ann at acme.com"}, "email", ["1 of 5 rows", "'ann at acme.com'"]),
        (KLAVIYO, {"email": None}, "email", ["1 of 5 rows are null"]),
        (KLAVIYO, {"contact_id": None}, "contact_id", ["1 of 5 rows are null"]),
        (KLAVIYO, {"customer_id": None}, "customer_id", ["1 of 5 rows are null"]),
        (KLAVIYO, {"source_order_id": None}, "source_order_id", ["1 of 5 rows are null"]),
        (KLAVIYO, {"recommended_products": '{"p9": 1}'}, "recommended_products", ["1 of 5 rows", "'{\"p9\": 1}'"]),
        (KLAVIYO, {"recommendation_count": 0}, "recommendation_count", ["1 of 5 rows are not between 1 and 10", "0"]),
        (KLAVIYO, {"recommendation_count": 11}, "recommendation_count", ["1 of 5 rows are not between 1 and 10", "11"]),
        (KLAVIYO, {"unique_id": "xsell_9999"}, "record_key and unique_id",
         ["1 of 5 rows where record_key differs from unique_id", "('xsell_0002', 'xsell_9999')"]),
        (KLAVIYO, {"send_before": pd.Timestamp("2026-11-23T00:00:00Z")}, "send_before and send_after",
         ["1 of 5 rows where send_before is not greater than send_after"]),
        (KLAVIYO, {"send_before": pd.Timestamp("2026-11-22T00:00:00Z")}, "send_before and send_after",
         ["1 of 5 rows where send_before is not greater than send_after", "2026-11-22"]),
    ],
)
def test_bad_row_fails_naming_its_column(suite: str, values: dict[str, object], column: str, words: list[str]) -> None:
    outcome = validate_frame(planted(suite, 2, **values), suite)

    assert not outcome.success
    assert len(outcome.failures) == 1, outcome.failures
    [failure] = failures_about(outcome, column)
    for word in words:
        assert word in failure


@pytest.mark.parametrize(
    ("suite", "row", "key", "twin"),
    [(HUBSPOT, 3, "cus_0001", "expansion_customer_id"), (KLAVIYO, 4, "xsell_0001", "unique_id")],
    ids=["hubspot-duplicated-account", "klaviyo-duplicated-event"],
)
def test_duplicated_record_fails_both_keys(suite: str, row: int, key: str, twin: str) -> None:
    outcome = validate_frame(planted(suite, row, record_key=key, **{twin: key}), suite)

    assert not outcome.success
    assert len(outcome.failures) == 2, outcome.failures
    for column in ("record_key", twin):
        [failure] = failures_about(outcome, column)
        assert "2 of 5 rows repeat a value" in failure
        assert f"'{key}'" in failure


def test_missing_column_fails_the_column_set_and_its_own_checks() -> None:
    outcome = validate_frame(klaviyo_frame().drop(columns=["send_after"]), KLAVIYO)

    assert not outcome.success
    assert outcome.evaluated == expectations_in_file(KLAVIYO)
    assert "The columns do not match the suite: missing send_after." in outcome.failures
    # The not-null check on send_after and the send window check cannot run without it.
    assert len(outcome.failures) == 3, outcome.failures
    assert all("send_after" in failure for failure in outcome.failures)


def test_extra_column_fails_the_column_set() -> None:
    outcome = validate_frame(hubspot_frame().assign(secret_note="x"), HUBSPOT)

    assert not outcome.success
    assert outcome.failures == ("The columns do not match the suite: unexpected secret_note.",)


def test_wrongly_typed_column_is_a_failed_outcome_not_an_error() -> None:
    frame = klaviyo_frame().assign(recommendation_count=["one", "two", "three", "four", "five"])

    outcome = validate_frame(frame, KLAVIYO)

    assert not outcome.success
    assert len(outcome.failures) == 1, outcome.failures
    assert outcome.failures[0].startswith("recommendation_count:")


def test_duplicated_column_names_are_a_failed_outcome() -> None:
    frame = pd.concat([hubspot_frame(), hubspot_frame()[["name"]]], axis=1)

    outcome = validate_frame(frame, HUBSPOT)

    assert not outcome.success
    assert outcome.failures == ("The frame has duplicated column names: name.",)


def test_unknown_suite_raises_one_sentence_listing_the_known_suites() -> None:
    with pytest.raises(ValueError, match="Unknown suite 'sync_nowhere'") as raised:
        validate_frame(hubspot_frame(), "sync_nowhere")

    assert f"{HUBSPOT}, {KLAVIYO}." in str(raised.value)


def test_suite_file_with_an_invalid_expectation_is_refused(tmp_path: Path) -> None:
    broken = {"name": "broken", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}, "meta": {}},
        {"type": "expect_column_values_to_be_purple", "kwargs": {"column": "a"}, "meta": {}},
    ]}
    (tmp_path / "broken.json").write_text(json.dumps(broken))

    assert suite_names(tmp_path) == ["broken"]
    with pytest.raises(ValueError, match=r"^Expectation 2 in .*broken\.json is not valid: .*be_purple not found\.$"):
        validate_frame(pd.DataFrame({"a": [1]}), "broken", expectations_dir=tmp_path)


def test_suite_file_named_otherwise_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps({"name": "theirs", "expectations": []}))

    with pytest.raises(ValueError, match="whose name is 'mine'"):
        validate_frame(pd.DataFrame({"a": [1]}), "mine", expectations_dir=tmp_path)


def test_validation_leaves_stderr_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    validate_frame(planted(KLAVIYO, 0, is_email_consented=False), KLAVIYO)

    assert capfd.readouterr().err == ""


def test_failure_sentences_read_in_full() -> None:
    frame = planted(KLAVIYO, 1, is_email_consented=False)
    frame.loc[3, "is_email_consented"] = False

    outcome = validate_frame(frame, KLAVIYO)

    assert outcome.failures == ("is_email_consented: 2 of 5 rows are not one of [True] (e.g. False).",)


def sync_table(frame: pd.DataFrame, model: str) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding `frame` as sync.<model>."""
    con = duckdb.connect()
    con.execute(f"create schema {SYNC_SCHEMA}")
    con.register("frame", frame)
    con.execute(f"create table {SYNC_SCHEMA}.{model} as select * from frame")
    con.unregister("frame")
    return con


def test_validate_sync_table_reads_the_whole_sync_model() -> None:
    good = validate_sync_table(sync_table(hubspot_frame(), HUBSPOT), HUBSPOT, DEFAULT_EXPECTATIONS_DIR)
    bad = validate_sync_table(sync_table(planted(HUBSPOT, 4, expansion_route="marketing"), HUBSPOT), HUBSPOT,
                              DEFAULT_EXPECTATIONS_DIR)

    assert (good.success, good.rows, good.suite, good.evaluated) == (True, ROWS, HUBSPOT, expectations_in_file(HUBSPOT))
    assert not bad.success
    [failure] = failures_about(bad, "expansion_route")
    assert "1 of 5 rows are not one of ['customer_success', 'sales']" in failure


def test_validate_sync_table_uses_the_suites_of_the_folder_it_is_given(tmp_path: Path) -> None:
    """A stricter copy of the suite in another folder: a domain may no longer be missing."""
    suite = json.loads((DEFAULT_EXPECTATIONS_DIR / f"{HUBSPOT}.json").read_text())
    suite["expectations"].append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "domain"},
                                  "meta": {}})
    (tmp_path / f"{HUBSPOT}.json").write_text(json.dumps(suite))

    outcome = validate_sync_table(sync_table(hubspot_frame(), HUBSPOT), HUBSPOT, tmp_path)

    assert not outcome.success
    assert outcome.failures == ("domain: 1 of 5 rows are null.",)
