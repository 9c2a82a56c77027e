"""A warning that a burst must not repeat once per event: one line per interval, with a count.

A reconnect storm brings thousands of the same failure within seconds (the
loop's database pool exhausted, flood storage not answering); a line for each
would cost the event loop time it does not have and bury the log.
"""

import logging
from time import monotonic


class ThrottledWarning:
    """``warn(*args)`` logs ``message % args`` at most once per ``every_seconds``, adding how many were held back.

    ``exc_info`` (an exception) adds its traceback to the line that is logged.
    """

    def __init__(self, logger: logging.Logger, message: str, every_seconds: float = 10.0):
        self.logger = logger
        self.message = message
        self.every_seconds = every_seconds
        self.at = float("-inf")
        self.since = 0

    def warn(self, *args, exc_info=None) -> None:
        now = monotonic()
        if now - self.at < self.every_seconds:
            self.since += 1
            return
        more = f"; {self.since} more since the last warning" if self.since else ""
        self.logger.warning(self.message + "%s", *args, more, exc_info=exc_info)
        self.at, self.since = now, 0
