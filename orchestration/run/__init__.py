"""`expansion` on the command line: its options, the in-process run of the Dagster job, progress and summary."""
