from django.urls import path

from . import views

urlpatterns = [
    path("widget/<slug:brand_slug>/", views.widget, name="widget"),
    path("widget/<slug:brand_slug>/logo/<str:name>", views.brand_logo, name="brand-logo"),
    path("demo/", views.demo, name="demo"),
    path("c/<str:signed>/", views.resume, name="resume"),
    path("mail/unsubscribe/<str:signed>/", views.unsubscribe, name="unsubscribe"),
]
