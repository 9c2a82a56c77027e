"""Logging filters for the one console handler (settings.LOGGING).

Django logs a refused request (403 PermissionDenied, 400 BadRequest or
SuspiciousOperation, such as a Host header not in ALLOWED_HOSTS) with the
exception attached, so every refusal printed a full traceback: noise that
buries real errors. The refusal is expected behaviour; its one line (status,
path) says all there is to say.
"""

import logging

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http.multipartparser import MultiPartParserError

REFUSALS = (PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


class RefusalsWithoutTraceback(logging.Filter):
    """Keep the line of a refused request, drop its traceback; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], REFUSALS):
            record.exc_info = None
            record.exc_text = None
        return True
