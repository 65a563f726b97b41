"""The errors Chokepoint raises for bad input: one line that names the file, row, field, value and fix."""


class ChokepointError(ValueError):
    """Base of every error caused by user input; the CLI prints it as one line."""


class SchemaError(ChokepointError):
    """A table does not match its schema (missing column, bad dtype, value not allowed)."""


class CheckError(ChokepointError):
    """A cross-table rule failed (unknown code, share above 100%, broken stage chain)."""


class ImportFileError(ChokepointError):
    """A user's data file cannot be read or does not look like the format claimed."""


class StoreError(ChokepointError):
    """The store cannot be opened or a dataset is missing."""
