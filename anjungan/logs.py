"""Log set-up for the services: one line per event, whatever a peer sent.

Values in log messages often come from a kiosk or a network peer (a peripheral's name, a
topic, an error text). `SafeFormatter` escapes every control character in the message, so a
newline in a value can never forge a second log line; tracebacks, which are ours, keep
their lines.
"""

from __future__ import annotations

import logging
import re
from typing import TextIO

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """`text` with every control character written as a visible escape (\\n, \\x1b, …)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return escape(super().formatMessage(record))


def configure(level: int, stream: TextIO, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
    """Send every log record to `stream`, one escaped line each (a service's `basicConfig`)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
