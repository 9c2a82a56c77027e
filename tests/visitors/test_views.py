"""The widget page and the demo shop, over HTTP."""

import pytest
from channels.db import database_sync_to_async


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
def test_widget_page_may_be_framed_only_by_the_brands_origins(client, brand):
    brand.allowed_origins = "https://shop.acme.test\nhttps://www.acme.test/"
    brand.save()

    response = client.get("/widget/acme/")

    assert response.status_code == 200
    assert _directives(response)["frame-ancestors"] == ["'self'", "https://shop.acme.test", "https://www.acme.test"]
    # X-Frame-Options cannot name origins; it would forbid every brand page.
    assert "X-Frame-Options" not in response


@pytest.mark.django_db
def test_other_pages_may_not_be_framed(client, brand):
    response = client.get("/demo/")

    assert _directives(response)["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_widget_page_says_experts_are_not_brand_staff(client, brand):
    response = client.get("/widget/acme/")

    text = response.content.decode()
    assert "independent community members" in text
    assert "not Acme Outdoor staff" in text
    assert 'data-ws-path="/ws/v1/visitor/acme/"' in text


@pytest.mark.django_db
def test_unknown_or_inactive_brand_has_no_widget(client, brand):
    assert client.get("/widget/nope/").status_code == 404
    brand.is_active = False
    brand.save()
    assert client.get("/widget/acme/").status_code == 404


@pytest.mark.django_db
def test_demo_shop_embeds_the_widget_with_the_one_line_script_tag(client):
    response = client.get("/demo/")

    assert response.status_code == 200
    assert b'<script src="http://testserver/static/widget/loader.js" data-brand="acme" async></script>' in response.content


def test_loader_and_widget_scripts_are_served(client):
    for path in ("/static/widget/loader.js", "/static/widget/widget.js", "/static/chat/common.js"):
        response = client.get(path)
        assert response.status_code == 200, path


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_handshakes_shares_one_brand_read_and_never_waits_on_a_stale_one(brand, settings, monkeypatch):
    """A burst of handshakes (a reconnect storm) reads the brand once, not once per socket, and an
    expired copy answers at once while the fresh read runs (handshakes must not queue on the database)."""
    import asyncio
    import threading

    from chatplatform import shared_reads
    from visitors import selectors

    settings.CHAT_BRAND_CACHE_SECONDS = 10
    selectors._brands.forget()
    reads = []
    gate = threading.Event()
    gate.set()

    def counting(slug):
        reads.append(slug)
        assert gate.wait(10)
        return selectors.active_brand_for_socket(slug)

    monkeypatch.setattr(selectors._brands, "read", counting)
    try:
        first = await asyncio.gather(*(selectors.brand_for_socket("acme") for _ in range(50)))
        assert len(reads) == 1 and all(b.pk == brand.pk for b in first)  # 50 handshakes, one read
        assert [t.slug for t in first[0].topics.all()] == []  # topics came with it
        await selectors.brand_for_socket("acme")
        assert len(reads) == 1  # moments later: no read

        old_name = brand.name
        brand.name = "Acme Renamed"
        await database_sync_to_async(brand.save)()
        later = shared_reads.monotonic() + 11
        monkeypatch.setattr(shared_reads, "monotonic", lambda: later)
        gate.clear()  # the database is slow to answer the fresh read...
        stale = await asyncio.wait_for(selectors.brand_for_socket("acme"), 1)
        assert stale.name == old_name  # ...so the old copy answers at once
        for _ in range(100):  # while the fresh read has started
            if len(reads) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(reads) == 2
        gate.set()
        for _ in range(100):
            if not selectors._brands._reading:
                break
            await asyncio.sleep(0.02)
        assert (await selectors.brand_for_socket("acme")).name == "Acme Renamed"  # then the new one
        assert len(reads) == 2
    finally:
        gate.set()
        selectors._brands.forget()
