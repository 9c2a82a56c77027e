from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from chatplatform.views import healthz
from moderation.views import overview as moderation_overview

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/moderation/overview/", moderation_overview, name="moderation-overview"),
    path("admin/", admin.site.urls),
    path("", include("visitors.urls")),
    path("", include("experts.urls")),
]
