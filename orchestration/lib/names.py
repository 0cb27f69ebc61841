"""One constant per name that more than one module uses: warehouse schemas, key columns, Dagster names.

Plain strings, no Dagster: `lib/` may import this module as freely as `defs/` and `run/` do.
"""

from __future__ import annotations

# --- warehouse schemas ---------------------------------------------------------------------------------------------
RAW_SCHEMA = "raw"  # the landing files as loaded, one table per contract table
QUARANTINE_SCHEMA = "quarantine"  # rows that broke the contract, with _rule and _source_file
SUPERSEDED_SCHEMA = "superseded"  # older versions of orders and contacts
AUDIT_SCHEMA = "audit"  # what each load and run did (load_counts, run history)
MARTS_SCHEMA = "marts"  # what BI tools read
SYNC_SCHEMA = "sync"  # the dbt sync models and the delivery ledger

# --- columns ---------------------------------------------------------------------------------------------------------
RECORD_KEY = "record_key"  # every sync model's key: the external id the destination upserts by

# --- Dagster ---------------------------------------------------------------------------------------------------------
REFRESH_JOB = "expansion_refresh"  # load, dbt build, checks, syncs
BUILD_JOB = "expansion_build"  # everything but the syncs (`expansion run --no-sync`)
LOAD_JOB = "expansion_load"  # the raw tables only
DAILY_SCHEDULE = "daily_refresh"
LANDING_SENSOR = "landing_files"  # starts a refresh when new landing files have settled
WAREHOUSE_TAG = "expansion/warehouse"  # on every run: the daemon's queue runs one per warehouse at a time
DBT_OP = "dbt_build"  # the one op that runs `dbt build`; its config carries the dbt vars
INGEST_GROUP = "ingest"  # the raw assets
QUALITY_GROUP = "quality"  # gates that are assets of their own (the volumes of what dbt built)
PUBLISH_GROUP = "published"  # the copy of the marts BI tools read (lib/publish.py)
DESTINATIONS_GROUP = "destinations"  # the assets that deliver to vendors (no dbt folder has this name)
GX_CHECK = "great_expectations"  # the blocking Great Expectations check on each sync model
PROGRESS_LOGGER = "progress"  # the command line's progress logger
LOGGER_ROOT = "expansion"  # every logger of the project is a child of this one
