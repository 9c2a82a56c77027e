from django.urls import path

from . import views

urlpatterns = [
    path("widget/<slug:brand_slug>/", views.widget, name="widget"),
    path("demo/", views.demo, name="demo"),
    path("c/<str:signed>/", views.resume, name="resume"),
    path("mail/unsubscribe/<str:signed>/", views.unsubscribe, name="unsubscribe"),
]
