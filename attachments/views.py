"""POST /attachments/ (upload) and GET /attachments/<id>/[thumbnail/] (download): docs/protocol.md, "Attachments".

Thin: parse, call one service, turn a ChatError into the project's JSON error
body ``{"code", "detail"}`` with the status the protocol gives its code.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chatplatform import errors
from chatplatform.addresses import request_address
from chatplatform.error_texts import localised
from chatplatform.errors import ChatError
from chatplatform.upload_limit import body_limit
from visitors import attachments as pictures
from visitors.models import Attachment

from . import services

STATUS = {
    errors.UNSUPPORTED_TYPE: 400,
    errors.INVALID_FIELD: 400,
    errors.INVALID_FRAME: 400,
    errors.FORBIDDEN: 403,
    errors.NOT_FOUND: 404,
    errors.ENDED: 409,
    errors.TOO_LARGE: 413,
    errors.RATE_LIMITED: 429,
    errors.UNAVAILABLE: 503,
}
# A downloaded picture may be shown, never run: no script, no plugin, no form, in a sandbox.
PICTURE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _error(code: str, detail: str) -> JsonResponse:
    # A service's literal detail in the request's language (LocaleMiddleware); the code stays English (contract).
    return JsonResponse({"code": code, "detail": localised(detail)}, status=STATUS.get(code, 400))


def _too_large() -> JsonResponse:
    limit = f"{settings.CHAT_ATTACHMENT_MAX_BYTES:,}"
    return _error(errors.TOO_LARGE, _("Pictures are limited to %(bytes)s bytes.") % {"bytes": limit})


def _csrf_refused(request) -> bool:
    """Django's own CSRF check, for the session (expert) way only: the visitor's way carries a token, not a cookie."""
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None


@csrf_exempt  # checked below for the session way; the visitor way is authenticated by its header, not a cookie
@require_POST
async def upload(request):
    """Multipart ``conversation`` and ``file``: answer the picture's id and how it will be shown (201).

    Asynchronous, so that decoding a picture does not hold the one thread Django runs synchronous views on
    (attachments/services.py); the body was received and parsed before the view (the middleware reads POST).
    """
    try:
        declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared_length = 0
    # Under ASGI, chatplatform/upload_limit.py refused it before it was even received; this is for any other server.
    if declared_length > body_limit():
        return _too_large()
    token = request.headers.get("X-Visitor-Token")
    user = await request.auser()
    if token is None and (not user.is_authenticated or _csrf_refused(request)):
        return _error(errors.FORBIDDEN, _("Sign in (with the page's CSRF token), or send the visitor's X-Visitor-Token."))
    try:
        conversation_id = request.POST.get("conversation", "")
        upload = request.FILES.get("file")
    except Exception:  # a malformed multipart body (Django's MultiPartParserError and friends)
        return _error(errors.INVALID_FRAME, _("Send a multipart/form-data body with `conversation` and `file`."))
    if not conversation_id or upload is None or "\x00" in conversation_id:
        return _error(errors.INVALID_FRAME, _("Send a multipart/form-data body with `conversation` and `file`."))
    if upload.size > settings.CHAT_ATTACHMENT_MAX_BYTES:
        return _too_large()
    call = dict(conversation_id=conversation_id, data_reader=upload.read, declared_type=upload.content_type or "")
    try:
        if token is not None:
            attachment = await services.upload_as_visitor(
                token=token, origin=request.headers.get("Origin"), own_origin=f"{request.scheme}://{request.get_host()}",
                address=request_address(request), **call,
            )
        else:
            attachment = await services.upload_as_expert(user=user, **call)
    except ChatError as exc:
        return _error(exc.code, exc.detail)
    return JsonResponse(pictures.upload_answer(attachment), status=201)


@require_GET
def download(request, attachment_id, variant: str = "full"):
    """The picture (or its thumbnail) for a signed URL, or for the conversation's expert or a manager signed in."""
    attachment = Attachment.objects.select_related("conversation").filter(pk=attachment_id).first()
    if attachment is None:
        return _error(errors.NOT_FOUND, _("No such picture."))
    signed = pictures.signature_valid(attachment.pk, variant, request.GET.get("expires"), request.GET.get("signature"))
    if not signed and not services.may_view(user=request.user, attachment=attachment):
        return _error(errors.FORBIDDEN, _("This link has expired or is not yours; reopen the conversation."))
    try:
        handle, content_type = pictures.open_variant(attachment, variant)
    except FileNotFoundError:
        return _error(errors.NOT_FOUND, _("No such picture."))
    extension = content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="picture{"-thumbnail" if variant == "thumbnail" else ""}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PICTURE_CSP
    # Only pages of our origin (the widget, the dashboard, the admin) may embed it.
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=3600"
    return response
