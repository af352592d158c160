"""The parts of a long run kept in one folder, so that a killed run resumes where it stopped.

`Parts(folder, reuse, settings)` writes `settings.json` there; `parts.json(name, make)` returns the
JSON part `name`, made by `make()` and written whole (temporary name, then rename) or, with `reuse`,
read back when it is already there. A reused folder must have been made with the same settings: any
other is an InputError naming the settings that differ. Parts that are folders (an adapter) are the
caller's to write whole (`lora.save_adapter`); `has(name)` says whether one may be reused. It decides
nothing about what the parts are.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import InputError
from .files import read_json_file, write_json

log = logging.getLogger(__name__)


class Parts:
    def __init__(self, folder: str | Path, reuse: bool, settings: dict):
        self.folder, self.reuse = Path(folder), reuse
        path = self.folder / "settings.json"
        if reuse and path.is_file():
            saved = read_json_file(path)
            changed = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
            if changed:
                raise InputError(f"the parts there were made with other settings ({', '.join(changed)}): drop --reuse "
                                 "or choose another folder", path=path, field=changed[0])
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(path, settings)

    def has(self, name: str) -> bool:
        """Whether part `name` may be reused: reusing, and it is there."""
        return self.reuse and (self.folder / name).exists()

    def json(self, name: str, make):
        """Part `name` (a JSON file under the folder): read back when it may be reused, else made and written."""
        path = self.folder / name
        if self.has(name):
            log.info("reusing %s", path)
            return read_json_file(path)
        value = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, value)
        return value
