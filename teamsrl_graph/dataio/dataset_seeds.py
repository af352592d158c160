"""Seed instructions from a `datasets` source: a local parquet, csv, json or jsonl file, or a folder
written by `Dataset.save_to_disk` (one split, or a DatasetDict with a `train` split).

One column holds the instructions (`instruction` by default) and optionally another their inputs.
The rows go through `seeds.check_seeds`, so the rules and messages are those of `teamsrl generate
--seeds`; a row's "line" in an error is its 1-based row number in the dataset. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from ..common.errors import InputError
from .seeds import Seed, check_seeds

READERS = {".parquet": "from_parquet", ".csv": "from_csv", ".json": "from_json", ".jsonl": "from_json"}


def read_dataset(path: str | Path):
    """The `datasets.Dataset` stored at `path` (a file of a READERS type or a saved folder)."""
    import datasets

    path = Path(path)
    if path.is_dir():
        try:
            data = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as error:
            raise InputError(f"not a saved dataset ({error})", path=path) from None
        if isinstance(data, datasets.DatasetDict):
            if "train" not in data and len(data) != 1:
                raise InputError(f"holds the splits {sorted(data)}; save the one to use on its own", path=path)
            data = data["train"] if "train" in data else next(iter(data.values()))
        return data
    if not path.is_file():
        raise InputError("no such file or folder", path=path)
    if path.suffix not in READERS:
        raise InputError(f"unknown kind of file; expected one of {', '.join(READERS)} or a saved dataset folder", path=path)
    try:
        return getattr(datasets.Dataset, READERS[path.suffix])(str(path), keep_in_memory=True)
    except Exception as error:  # the readers' parse errors (arrow, pandas, json) differ by format
        raise InputError(f"cannot read as {path.suffix[1:]}: {type(error).__name__}: {error}", path=path) from None


def seeds_from_dataset(path: str | Path, column: str = "instruction", input_column: str | None = None, *,
                       strict: bool = True, max_tokens: int = 1024) -> list[Seed]:
    """The seeds in `column` (and their inputs in `input_column`) of the dataset at `path`."""
    data = read_dataset(path)
    for name in (column, input_column):
        if name is not None and name not in data.column_names:
            raise InputError(f"no such column; the dataset has {', '.join(data.column_names)}", path=path, field=name)
    instructions = data[column]
    inputs = data[input_column] if input_column else [""] * len(instructions)
    rows = []
    for row, (instruction, input_text) in enumerate(zip(instructions, inputs), 1):
        for name, value in ((column, instruction), (input_column, input_text)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"must be text, got {type(value).__name__}", path=path, line=row, field=name)
        rows.append((instruction or "", input_text or "", row))
    try:
        return check_seeds(rows, path, strict=strict, max_tokens=max_tokens)
    except InputError as error:  # name the dataset's column, not the seed field
        field = column if error.field == "instruction" else error.field
        raise InputError(error.message, path=error.path, line=error.line, field=field) from None
