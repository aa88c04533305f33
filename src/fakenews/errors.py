"""The one exception type for user errors.

A :class:`FakeNewsError` message is a single line that says what was expected, what was found
and how to fix it. The CLI prints it as ``error: <message>`` and exits 1 without a traceback.
"""

from __future__ import annotations


class FakeNewsError(Exception):
    """A user error (bad path, bad column, bad label, bad config, ...), never a bug."""

    def __init__(self, message: str) -> None:
        # Keep it to one line: the CLI shows exactly this.
        super().__init__(" ".join(message.split()))
