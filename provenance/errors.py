"""User-facing errors: each message says what went wrong and what to do about it."""


class ProvenanceError(Exception):
    """An error the CLI reports as a message (no traceback) with a non-zero exit."""


class InputError(ProvenanceError):
    """Bad input data: a missing column, a malformed line, an unreadable file."""
