from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from analytics.views import analytics
from chatplatform.views import favicon, healthz, home
from moderation.views import overview as moderation_overview

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/moderation/overview/", moderation_overview, name="moderation-overview"),
    path("admin/analytics/", analytics, name="analytics"),
    path("admin/", admin.site.urls),
    path("", include("visitors.urls")),
    path("", include("experts.urls")),
    path("", include("attachments.urls")),
]
