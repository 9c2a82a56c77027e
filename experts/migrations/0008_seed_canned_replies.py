"""Every existing brand gets the community charter's canned replies (new brands get them from
experts/canned.py's seed_brand_replies). A copy of the words as they were: later edits of the
code's list do not rewrite history."""

from django.db import migrations

POLITENESS = (
    "I'm a member of the community. I'm here to help and to share my knowledge. "
    "Please remain polite and respectful!"
)
CHARTER_REPLIES = [
    ("Politeness reminder", POLITENESS),
    ("Sorry another expert was not helpful",
     "I'm sorry another expert was not helpful, {visitor}. I will try my best to offer you the best experience "
     "possible. Is there anything that can best help me help you today?"),
    ("I will not do that",
     "I'm sorry that happened. I will not do that. Is there anything else I can do to help you feel at ease here?"),
    ("Would you like to talk about it?",
     "Would you like to talk about what happened? If you'd rather not, that's fine too: tell me what brought you here today."),
    ("Keep searching for the right one",
     "Sometimes people just don't click with each other, and it's totally fine to keep searching for the right one! "
     "You can ask to talk to another expert at any time."),
    ("Hello",
     "Hello {visitor}! I'm {expert}, a member of the community, happy to help. Could you tell me a bit more?"),
    ("I don't know for sure",
     "I don't know the answer for sure, and I'd rather say so than guess. Here is what I would check first:"),
]


def seed(apps, schema_editor):
    Brand = apps.get_model("visitors", "Brand")
    CannedReply = apps.get_model("experts", "CannedReply")
    for brand in Brand.objects.all():
        if CannedReply.objects.filter(brand=brand).exists():
            continue
        # The brand's own politeness reminder (what "warn" posts), if a manager changed it.
        replies = [("Politeness reminder", brand.politeness_reminder or POLITENESS)] + CHARTER_REPLIES[1:]
        CannedReply.objects.bulk_create(
            CannedReply(brand=brand, title=title, text=text, position=i) for i, (title, text) in enumerate(replies)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('experts', '0007_canned_replies_and_transfers'),
        ('visitors', '0011_topic_routing_and_expert_guidance'),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
