"""Refuse, in one place, HTTP input no database can store: a NUL in the path or any parameter.

PostgreSQL refuses a NUL (0x00) in any text value, so a search box, an admin
filter or a form field holding one ended in HTTP 500 wherever it reached a
query (SQLite stored it). No browser sends one on its own; the request gets
400 before any view runs, and nothing is read or written.
"""

from django.http import HttpResponseBadRequest
from django.utils.deprecation import MiddlewareMixin

NUL = "\x00"


def _holds_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


class RefuseUnstorableInputMiddleware(MiddlewareMixin):
    """Sync and async alike (MiddlewareMixin): no thread hop under daphne."""

    def process_request(self, request):
        if NUL in request.path or _holds_nul(request.GET) or (request.method == "POST" and _holds_nul(request.POST)):
            return HttpResponseBadRequest("A NUL character is not allowed in a request.", content_type="text/plain")
        return None
