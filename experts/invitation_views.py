"""The invitation's sign-up page, /join/<token>/: thin, experts/invitations.py decides."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from . import invitations
from .forms import JoinForm
from .models import Topic

# A bad link's page: the status and what it says (never a 500, never which invitations exist).
REFUSALS = {
    "tampered": (400, gettext_lazy("This link is not complete or was changed. Open it again from the e-mail, "
                        "or copy the whole address into your browser.")),
    "expired": (410, gettext_lazy("This invitation has expired. Ask your community manager to send it again.")),
    "used": (410, gettext_lazy("This invitation was used already: its account exists. Sign in with it.")),
    "revoked": (410, gettext_lazy("This invitation no longer works: it was withdrawn, or a newer e-mail replaced it. "
                       "Use the newest e-mail, or ask your community manager.")),
}

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _refused(request, code):
    status, text = REFUSALS[code]
    return render(request, "experts/join_refused.html", {"text": text, "code": code}, status=status)


@sensitive_post_parameters("password1", "password2")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def join(request, token):
    try:
        invitation = invitations.open_invitation(token=token)
    except invitations.InvitationError as exc:
        return _refused(request, exc.code)
    topics = Topic.objects.filter(brand_id=invitation.brand_id).order_by("name")
    if request.method == "POST":
        form = JoinForm(request.POST, topics=topics)
        if form.is_valid():
            data = form.cleaned_data
            try:
                expert = invitations.accept_invitation(
                    token=token, username=data["username"], password=data["password1"],
                    display_name=data["display_name"], topic_ids=[t.pk for t in data["topics"]],
                )
            except invitations.InvitationError as exc:
                return _refused(request, exc.code)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                login(request, expert.user, backend=MODEL_BACKEND)
                messages.success(request, _("Welcome, %(name)s: your account is ready.") % {"name": expert.display_name})
                return redirect("expert-dashboard")
    else:
        form = JoinForm(topics=topics, initial={"topics": list(invitation.topics.all())})
    return render(request, "experts/join.html", {"form": form, "brand": invitation.brand, "email": invitation.email})
