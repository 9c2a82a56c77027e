"""Set up the benchmark's data in its own database, and count queries per message.

Run by bench/run.py as ``python -m bench.seed COUNT [--community E CAPACITY]`` with the server's
environment (DATABASE_URL, REDIS_URL, SECRET_KEY). Prints one JSON object:
the brand, one session cookie per expert (logged in the way Django does it,
without the password hasher's cost), the fan-in expert's cookie, and the SQL
statements one visitor message and one expert message take.
"""

import json
import os
import sys
import uuid


def session_cookie(user) -> str:
    """A session signing ``user`` in, made the way Django's login makes it (without the password hasher's cost)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from experts.models import ExpertProfile
    from experts.services import claim_conversation
    from visitors.models import Brand, Visitor
    from visitors.services import send_expert_message, send_visitor_message, start_conversation

    count = int(sys.argv[1])
    # --community E CAPACITY: E more experts, online, for the experts-online and question-burst scenarios.
    community, community_capacity = (int(sys.argv[3]), int(sys.argv[4])) if sys.argv[2:3] == ["--community"] else (0, 1)
    run = uuid.uuid4().hex[:6]
    brand, _ = Brand.objects.get_or_create(slug="bench", defaults={"name": "Bench", "allowed_origins": "http://bench.test"})
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"bench-{run}-{i}", password="!") for i in range(count + 1)])
    # Away: they claim by id, and the brand's queue is not fanned out to thousands of dashboards.
    profiles = ExpertProfile.objects.bulk_create(
        [ExpertProfile(user=u, display_name=f"Expert {i}", capacity=(50 if i == count else 1), presence="away") for i, u in enumerate(users)]
    )
    ExpertProfile.brands.through.objects.bulk_create(
        [ExpertProfile.brands.through(expertprofile_id=p.pk, brand_id=brand.pk) for p in profiles]
    )
    cookies = [session_cookie(user) for user in users]
    # Away when their sockets open (they claim their C conversations by id, nothing offered yet); the
    # load generator then sets each online.
    crowd = User.objects.bulk_create([User(username=f"bench-{run}-c{i}", password="!") for i in range(community)])
    crowd_profiles = ExpertProfile.objects.bulk_create(
        [ExpertProfile(user=u, display_name=f"Community expert {i}", capacity=community_capacity, presence="away") for i, u in enumerate(crowd)]
    )
    ExpertProfile.brands.through.objects.bulk_create(
        [ExpertProfile.brands.through(expertprofile_id=p.pk, brand_id=brand.pk) for p in crowd_profiles]
    )
    community_cookies = [session_cookie(user) for user in crowd]

    # Queries per message on the service path, as the consumers call it.
    visitor = Visitor.objects.create(brand=brand, token_hash=uuid.uuid4().hex)
    conversation = start_conversation(visitor=visitor, text="count", client_id="q0")
    expert = ExpertProfile.objects.get(pk=profiles[0].pk)
    claim_conversation(expert=expert, conversation_id=conversation.id)
    with CaptureQueriesContext(connection) as visitor_queries:
        send_visitor_message(visitor=visitor, text="one", client_id="q1")
    with CaptureQueriesContext(connection) as expert_queries:
        send_expert_message(expert=expert, conversation_id=str(conversation.id), text="two", client_id="q2")
    with CaptureQueriesContext(connection) as retry_queries:
        send_visitor_message(visitor=visitor, text="one", client_id="q1")
    conversation.status = "ended"
    conversation.save(update_fields=["status"])

    print(json.dumps({
        "brand": brand.slug,
        "cookies": cookies[:count],
        "fanout_cookie": [cookies[count]],
        "community_cookies": community_cookies,
        "queries": {
            "visitor_message": len(visitor_queries.captured_queries),
            "expert_message": len(expert_queries.captured_queries),
            "visitor_retry": len(retry_queries.captured_queries),
            "visitor_message_sql": [q["sql"][:160] for q in visitor_queries.captured_queries],
            "expert_message_sql": [q["sql"][:160] for q in expert_queries.captured_queries],
        },
    }))


if __name__ == "__main__":
    main()
