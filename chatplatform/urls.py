from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from analytics.views import analytics
from chatplatform import account_views
from chatplatform.i18n import LanguageCatalog
from chatplatform.views import favicon, healthz, home
from moderation.views import overview as moderation_overview

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("jsi18n/<str:language>/", LanguageCatalog.as_view(), name="jsi18n"),
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Two-factor sign-in (chatplatform/mfa.py) and the password reset (docs/security.md, "Accounts").
    path("login/code/", account_views.two_factor_verify, name="two-factor-verify"),
    path("account/two-factor/", account_views.two_factor_manage, name="two-factor"),
    path("account/two-factor/setup/", account_views.two_factor_setup, name="two-factor-setup"),
    path("password-reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Before the admin's own, which would sign a manager in before the code step.
    path("admin/login/", account_views.admin_sign_in, name="admin-login"),
    path("admin/moderation/overview/", moderation_overview, name="moderation-overview"),
    path("admin/analytics/", analytics, name="analytics"),
    path("admin/", admin.site.urls),
    path("", include("visitors.urls")),
    path("", include("experts.urls")),
    path("", include("attachments.urls")),
]
