from django.urls import path

from . import invitation_views, views

urlpatterns = [
    path("dashboard/", views.dashboard, name="expert-dashboard"),
    path("dashboard/past/", views.past, name="expert-past"),
    path("dashboard/profile/", views.profile, name="expert-profile"),
    path("dashboard/replies/", views.replies, name="expert-replies"),
    path("dashboard/replies/<int:reply_id>/", views.reply_edit, name="expert-reply-edit"),
    path("dashboard/replies/<int:reply_id>/delete/", views.reply_delete, name="expert-reply-delete"),
    path("dashboard/colleagues/", views.colleagues, name="expert-colleagues"),
    path("dashboard/push/subscribe/", views.push_subscribe, name="expert-push-subscribe"),
    path("dashboard/push/unsubscribe/", views.push_unsubscribe, name="expert-push-unsubscribe"),
    # An invitation's link (experts/invitations.py): the token is signed, so any text may come here.
    path("join/<str:token>/", invitation_views.join, name="expert-join"),
    path("community/", views.community, name="community"),
    path("community/new/", views.community_new, name="community-new"),
    path("community/<int:post_id>/", views.community_post, name="community-post"),
]
