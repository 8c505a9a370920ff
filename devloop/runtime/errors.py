"""devloop's exception family and the exit codes the CLI maps them to.

User mistakes (bad config, bad names, a busy workspace) are one line and a
distinct exit code; tracebacks are reserved for bugs and ``--debug``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a step or check failed (agent error, unparseable answer)
EXIT_ERROR = 2  # devloop could not do what was asked (bad state, I/O)
EXIT_USAGE = 3  # bad config, bad feature name, bad arguments, an unreadable devloop.lock
EXIT_BUSY = 4  # another devloop/doit run holds the workspace lock


class DevloopError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_ERROR


class UsageError(DevloopError):
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """devloop.yaml (or a check block) is invalid; the message names the field."""


class FeatureNameError(UsageError):
    pass


class CorruptLock(UsageError):
    """A ``devloop.lock`` that cannot be read: never reset, since that would ask every agent again."""


class WorkspaceBusy(DevloopError):
    exit_code = EXIT_BUSY


class StepFailed(DevloopError):
    """A step could not produce a valid artifact (fail-closed).

    ``retry`` is true when the next run asks an agent again (an answer was
    rejected and recorded as such), rather than waiting for a fix by hand.
    ``fix`` names what to change in devloop.yaml or the environment when only
    that can help (no key, an unknown model): the next run does not ask again
    until one of them changed.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, retry: bool = False, next: str | None = None, fix: str = "") -> None:
        super().__init__(message)
        self.retry, self.next, self.fix = retry, next, fix
