"""Forms of the expert pages: they parse input; the services decide."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from chatplatform.protocol import is_blank


class VisibleCharField(forms.CharField):
    """A required text that must show something: only zero-width or other invisible characters is blank."""

    def validate(self, value):
        super().validate(value)
        if value and is_blank(value):
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ProfileForm(forms.Form):
    display_name = VisibleCharField(max_length=60, label=_("Display name"))
    bio = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Bio"),
                          help_text=_("What visitors see when you join: your experience, in a sentence or two."))
    avatar_url = forms.URLField(required=False, assume_scheme="https", label=_("Avatar URL"),
                                help_text=_("An https address of a square picture."))
    topics = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                            label=_("Topics you answer"))
    digest_enabled = forms.BooleanField(
        required=False, label=_("E-mail me a digest of waiting questions"),
    )
    language = forms.ChoiceField(required=False, label=_("Language of your pages"),
                                 help_text=_("Dates and times follow your browser's time zone."))

    def __init__(self, *args, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = topics
        self.fields["language"].choices = [("", _("Your browser's"))] + list(settings.LANGUAGES)
        self.fields["digest_enabled"].help_text = _(
            "At most one e-mail every %(minutes)s minutes, to your account's address, "
            "only when a question is new and your dashboard is closed."
        ) % {"minutes": settings.CHAT_EXPERT_DIGEST_MINUTES}
        self.fields["topics"].label_from_instance = lambda topic: f"{topic.name} ({topic.brand.name})"

    def clean_avatar_url(self):
        url = self.cleaned_data["avatar_url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError(_("Use an https address."))
        return url


class CommunityPostForm(forms.Form):
    title = VisibleCharField(max_length=150, label=_("Title"))
    body = VisibleCharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 12}), label=_("Post"))
    source_conversation = forms.CharField(required=False, widget=forms.HiddenInput)


class CommunityReplyForm(forms.Form):
    body = VisibleCharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), label=_("Your reply"))
