"""Errors that the CLI reports as one line and exit status 2."""


class BadInput(Exception):
    """Input that cannot be used: a bad likes file, a bad argument.

    ``str(error)`` is the whole message a user sees, naming what and where.
    """


class BadRow(BadInput):
    """One bad row of a likes file, at ``path:line``."""

    def __init__(self, path, line, reason):
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason
