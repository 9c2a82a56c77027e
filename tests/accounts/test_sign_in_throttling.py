"""Sign-in throttling per address across usernames (django-axes, settings.AXES_LOCKOUT_PARAMETERS)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_spraying_many_usernames_from_one_address_is_locked_out(throttled, settings, alice):
    # Guards against: password spraying, one guess for each of many usernames, which the per-username count never saw.
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    answers = [client.post("/login/", {"username": f"user{i}", "password": "Summer2026!"}, REMOTE_ADDR="198.51.100.20").status_code
               for i in range(8)]
    assert answers[:4] == [200] * 4 and set(answers[4:]) == {429}
    # The address is locked for every username, even with the right password...
    assert Client().post("/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="198.51.100.20").status_code == 429
    # ...the admin's form too...
    assert Client().post("/admin/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="198.51.100.20").status_code == 429
    # ...while others, elsewhere, sign in.
    assert Client().post("/login/", {"username": "alice", "password": "pw-alice"}, REMOTE_ADDR="203.0.113.9")["Location"] == "/dashboard/"


def test_the_per_username_lockout_still_holds_from_one_address(throttled, settings, alice):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(4):
        assert client.post("/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.21").status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.21").status_code == 429


def test_the_per_address_count_is_kept_under_the_addresses_keyed_hash(throttled, alice):
    # Guards against: axes counting (and so keeping in the cache) the raw address, not chatplatform.addresses' hash.
    from hashlib import sha256

    from django.core.cache import cache

    from chatplatform.addresses import hash_address

    Client().post("/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.22")
    assert cache.get("axes-" + sha256(hash_address("198.51.100.22").encode()).hexdigest()) == 1
    assert cache.get("axes-" + sha256(b"198.51.100.22").hexdigest()) is None
