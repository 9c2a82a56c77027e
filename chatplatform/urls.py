from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chatplatform.i18n import LanguageCatalog
from chatplatform.views import favicon, healthz, home
from moderation.views import overview as moderation_overview

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("jsi18n/<str:language>/", LanguageCatalog.as_view(), name="jsi18n"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/moderation/overview/", moderation_overview, name="moderation-overview"),
    path("admin/", admin.site.urls),
    path("", include("visitors.urls")),
    path("", include("experts.urls")),
]
