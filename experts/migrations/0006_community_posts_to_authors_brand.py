"""The community panel becomes per brand: each existing post goes to its author's brand.

An author of several brands: the first they joined (lowest membership id). An author of
no brand: left null, the cross-brand space (docs/faces.md, "Community panel").
One UPDATE, whatever the number of posts.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def to_authors_brand(apps, schema_editor):
    CommunityPost = apps.get_model("experts", "CommunityPost")
    Membership = apps.get_model("experts", "ExpertProfile").brands.through
    first_brand = Membership.objects.filter(expertprofile_id=OuterRef("author_id")).order_by("pk").values("brand_id")[:1]
    CommunityPost.objects.filter(brand__isnull=True).update(brand_id=Subquery(first_brand))


class Migration(migrations.Migration):

    dependencies = [
        ("experts", "0005_communitypost_brand"),
    ]

    operations = [
        # Backwards: the field is dropped by undoing 0005; nothing to put back.
        migrations.RunPython(to_authors_brand, migrations.RunPython.noop),
    ]
