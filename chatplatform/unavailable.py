"""HTTP: a database that is away for a moment answers 503 with Retry-After, not a 500 traceback page."""

import logging

from django.http import HttpResponse

from chatplatform.db import DATABASE_ERRORS

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """A failover or a restart of PostgreSQL: the request's connection closes with it (chatplatform/db.py), so a retry works."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        logger.warning("database unavailable (%s); answered 503", type(exception).__name__)
        response = HttpResponse(
            "The service is unavailable for a moment; try again.", status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
