"""The widget page and the demo shop, over HTTP."""

import pytest


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


def test_a_socket_handshake_reuses_a_brand_read_moments_ago(brand, settings, django_assert_num_queries, monkeypatch):
    """A burst of handshakes (a reconnect storm) reads the brand once, not once per socket."""
    import time

    from visitors import selectors

    settings.CHAT_BRAND_CACHE_SECONDS = 10
    selectors._recent_brands.clear()
    assert selectors.recent_active_brand("acme") == (False, None)
    with django_assert_num_queries(2):  # the brand and its topics
        read = selectors.active_brand_for_socket("acme")
    with django_assert_num_queries(0):
        assert selectors.recent_active_brand("acme") == (True, read)
        assert [t.slug for t in read.topics.all()] == []
    later = time.monotonic() + 11
    monkeypatch.setattr(selectors.time, "monotonic", lambda: later)
    assert selectors.recent_active_brand("acme") == (False, None)  # read again after a while
    selectors._recent_brands.clear()
