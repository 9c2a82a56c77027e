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
    # Left out: the shared conversation's brand, else the expert's first (experts.services.create_community_post).
    space = forms.ChoiceField(required=False, label=_("Space"), help_text=_("Who reads it: the experts of this brand, or of every brand in the cross-brand space."))
    title = VisibleCharField(max_length=150, label=_("Title"))
    body = VisibleCharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 12}), label=_("Post"))
    source_conversation = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, spaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].choices = spaces


class CommunityReplyForm(forms.Form):
    body = VisibleCharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), label=_("Your reply"))


class CannedReplyForm(forms.Form):
    """One of the expert's own canned replies (experts/canned.py checks the placeholders)."""

    title = VisibleCharField(max_length=80, label=_("Title"), help_text=_("What you type after “/” to find it."))
    text = VisibleCharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label=_("Reply"),
                            help_text=_("{visitor} and {expert} are replaced by the visitor's name and yours."))


class JoinForm(forms.Form):
    """The invitation's sign-up page: the new expert's username, password and profile."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z", max_length=150, label=_("Username"),
        help_text=_("What you sign in with: letters, digits and @ . + - _ only."),
        error_messages={"invalid": _("Use letters, digits and @ . + - _ only.")},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    display_name = VisibleCharField(max_length=60, label=_("Display name"),
                                    help_text=_("What visitors see when you join a conversation."))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=_("At least 8 characters, not only digits, not a common password."))
    password2 = forms.CharField(label=_("The same password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    topics = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                            label=_("Topics you answer"))

    def __init__(self, *args, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = topics
        self.fields["topics"].label_from_instance = lambda topic: topic.name

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data
