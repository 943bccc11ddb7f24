"""Read a data file (JSONL, JSON, CSV, Parquet) into a `datasets.Dataset`.

Everything goes through `datasets` so that large files are memory-mapped Arrow tables
rather than Python lists. Errors name the file and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

from adapterctl import storage
from adapterctl.errors import DataError

# file suffix → the `datasets` builder that reads it
BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def load_table(path: Path, *, label: str | None = None):
    """All rows of `path` as a Dataset. `label` is how errors name the file (project-relative)."""
    import datasets

    label = label or str(path)
    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise DataError(f"{label}: unsupported data format {path.suffix or '(no suffix)'}; use .jsonl, .csv or .parquet")
    if not path.is_file():
        hint = " (it is DVC-tracked: run `adapterctl pull` or `dvc pull`)" if storage.dvc_file(Path(path)).exists() else ""
        raise DataError(f"{label}: file not found{hint}")
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bar()  # our own progress is the only bar users see
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", keep_in_memory=True)
    except Exception as exc:  # datasets raises many types (ArrowInvalid, DatasetGenerationError, ...)
        raise DataError(f"{label}: cannot read as {builder.upper()}: {_root_cause(exc)}") from None
    finally:
        if was_enabled:
            datasets.enable_progress_bar()
    if len(table) == 0:
        raise DataError(f"{label}: no rows")
    return table


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
