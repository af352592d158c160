"""Errors a user can act on. The CLI prints them in one line and exits with code 2."""

from __future__ import annotations


class TeamsrlError(Exception):
    """Base class: a problem with the user's input or set-up, never a bug."""


class SetupError(TeamsrlError):
    """Something is missing from the installation (a wheel, a model folder)."""


class InputError(TeamsrlError, ValueError):
    """Bad user input, located as precisely as possible: file, line, field.

    It is a ValueError too: the LangGraph API server passes a ValueError's message on to its
    clients (other exceptions reach them as "An internal error occurred"), so a served run with a
    bad setting tells the client which field is wrong and why."""

    def __init__(self, message: str, *, path=None, line: int | None = None, field: str | None = None):
        self.message, self.path, self.line, self.field = message, path, line, field
        where = ":".join(str(p) for p in (path, line) if p is not None)
        if field:
            where = f"{where} field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


class Interrupted(TeamsrlError):
    """A run stopped early on a signal, after writing what it had; `exit_code` is 128 + the signal."""

    def __init__(self, signal_name: str, exit_code: int):
        self.exit_code = exit_code
        super().__init__(f"interrupted by {signal_name}; the results so far are written (continue with --resume)")
