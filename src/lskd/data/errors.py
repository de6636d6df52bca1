"""One error type for bad data, so the CLI can print it as one line."""


class DataError(Exception):
    """A dataset is missing, corrupt or inconsistent; the message names the file and the fix."""


class CommandFailed(Exception):
    """An external tool (fairseq) exited with an error; its output is in the named log."""
