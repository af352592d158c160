"""Errors a user can act on. The CLI prints them in one line and exits with code 2."""

from __future__ import annotations


class TeamsrlError(Exception):
    """Base class: a problem with the user's input or set-up, never a bug."""


class SetupError(TeamsrlError):
    """Something is missing from the installation (a wheel, a model folder)."""


class InputError(TeamsrlError):
    """Bad user input, located as precisely as possible: file, line, field."""

    def __init__(self, message: str, *, path=None, line: int | None = None, field: str | None = None):
        self.message, self.path, self.line, self.field = message, path, line, field
        where = ":".join(str(p) for p in (path, line) if p is not None)
        if field:
            where = f"{where} field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


