from django.urls import path

from . import views

urlpatterns = [
    path("attachments/", views.upload, name="attachment-upload"),
    path("attachments/<uuid:attachment_id>/", views.download, name="attachment-file"),
    path("attachments/<uuid:attachment_id>/thumbnail/", views.download, {"variant": "thumbnail"}, name="attachment-thumbnail"),
]
