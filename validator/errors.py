"""The one exception that reaches the user: a clear line, exit 2, no traceback."""


class VhvError(Exception):
    """The tool could not do its job (bad input, no credentials, unreachable endpoint)."""

    exit_code = 2
