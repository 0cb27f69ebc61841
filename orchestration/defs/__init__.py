"""Dagster definitions, one folder per concern: ingest, transform, automation."""
