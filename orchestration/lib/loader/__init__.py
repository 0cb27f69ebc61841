"""Load a landing directory into the warehouse's `raw` schema, enforcing the data contract.

All the work happens inside DuckDB with its own CSV and Parquet readers: Python only builds the SQL from the
declarations in `contract.py`. `load_table` loads one table (see `table.py`): the rows that break a rule go to
`quarantine.<table>` with their original text, `_rule`, `_column`, `_source_file` and `_source_row`; older versions of
orders and contacts to `superseded.<table>`; everything else, typed, to `raw.<table>`. Only new landing files are
read when nothing else changed (`files.py`), and the partitions each load changed are recorded for the
incremental dbt models (`changes.py`). Loading the same files twice gives the same tables. Errors a user can cause
end in `LandingError`, whose message is one sentence naming the file, table or column.
"""

from orchestration.lib.loader.sources import find_table_files
from orchestration.lib.loader.sql import LandingError, literal, quote
from orchestration.lib.loader.table import LoadResult, load_table, prepare_warehouse

__all__ = ["LandingError", "LoadResult", "find_table_files", "literal", "load_table", "prepare_warehouse", "quote"]
