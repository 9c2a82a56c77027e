"""/admin/analytics/ as a community manager with only the group's permissions, and its CSV exports."""

import csv
import io

import pytest
from django.core.management import call_command

from moderation.models import ManagerScope
from tests.support import sign_in

pytestmark = pytest.mark.django_db

MARCH = {"preset": "custom", "start": "2026-03-01", "end": "2026-03-31", "tz": "UTC"}
URL = "/admin/analytics/"


@pytest.fixture
def manager(django_user_model):
    call_command("create_community_manager", "carol", password="pw-carol-12345", stdout=io.StringIO())
    return django_user_model.objects.get(username="carol")


@pytest.fixture
def manager_client(client, manager):
    sign_in(client, manager)
    return client


def rows_of(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_admin_index_links_the_page_for_managers(manager_client):
    body = manager_client.get("/admin/").content.decode()
    assert f'href="{URL}"' in body


def test_the_page_shows_each_figure_for_a_brand_and_period(manager_client, march):
    response = manager_client.get(URL, {**MARCH, "brand": "acme"})
    assert response.status_code == 200
    body = response.content.decode()
    for figure, value in [("asked", "5"), ("answered", "3"), ("unanswered", "2"), ("p50", "180 s"), ("p90", "276 s"),
                          ("csat", "3.7 / 5"), ("blocks", "2"), ("alerts", "2"), ("reports", "2")]:
        assert f'id="figure-{figure}">{value}<' in body, figure
    assert "Sizing and fit" in body and "Alice" in body and "Bob" in body
    assert "GlobexGus" not in body and "=Gina" not in body
    # The heat map: Monday 09:00 holds the busiest hour (2), drawn at full strength.
    assert 'fill-opacity="1.0" data-count="2"><title>Monday 09:00: 2</title>' in body


def test_the_default_is_the_last_30_days_of_every_brand(manager_client, march):
    response = manager_client.get(URL)
    assert response.status_code == 200
    assert response.context["form"].cleaned_data["preset"] == "30"
    # March 2026 is long before "now" (the fixed data): nothing in the last 30 days.
    assert response.context["figures"]["questions"]["asked"] == 0


def test_each_table_downloads_as_csv(manager_client, march):
    base = {**MARCH, "brand": "acme", "format": "csv"}
    summary = rows_of(manager_client.get(URL, {**base, "table": "summary"}))
    assert summary[0] == ["figure", "value"]
    assert ["questions asked", "5"] in summary and ["first response p90 (s)", "276.0"] in summary
    assert rows_of(manager_client.get(URL, {**base, "table": "csat"}))[1:] == [["1", "0"], ["2", "1"], ["3", "0"], ["4", "1"], ["5", "1"]]
    assert rows_of(manager_client.get(URL, {**base, "table": "experts"}))[1:] == [["Alice", "2", "2", "1", "5.0"], ["Bob", "2", "2", "2", "3.0"]]
    assert rows_of(manager_client.get(URL, {**base, "table": "topics"}))[1:] == [["Sizing and fit", "3", "2", "1"], ["(no topic)", "2", "1", "1"]]
    hours = rows_of(manager_client.get(URL, {**base, "table": "hours"}))
    assert hours[0][:3] == ["weekday", "00:00", "01:00"] and hours[1][0] == "Monday" and hours[1][1 + 9] == "2"
    moderation = rows_of(manager_client.get(URL, {**base, "table": "moderation"}))
    assert ["Blocks", "total", "2"] in moderation and ["Reports", "disrespectful", "1"] in moderation
    response = manager_client.get(URL, {**base, "table": "experts"})
    assert 'filename="analytics-experts-acme-20260301-20260331.csv"' in response["Content-Disposition"]


def test_csv_cells_cannot_start_a_formula(manager_client, march):
    # Gina's display name is "=Gina": a spreadsheet would read it as a formula.
    rows = rows_of(manager_client.get(URL, {**MARCH, "format": "csv", "table": "experts"}))
    assert ["'=Gina", "1", "1", "1", "1.0"] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("query, message", [
    ({"preset": "custom", "start": "2026-03-31", "end": "2026-03-01"}, "start comes after its end"),
    ({"preset": "custom", "start": "2026-03-01"}, "Give both dates"),
    ({"preset": "custom", "start": "2020-01-01", "end": "2026-01-01"}, "at most 366 days"),
    ({"preset": "custom", "start": "1999-12-31", "end": "2000-01-05"}, "between 2000-01-01 and today"),
    ({"preset": "custom", "start": "31/03/2026", "end": "2026-04-01"}, "Enter a valid date"),
    ({"preset": "365"}, "Select a valid choice"),
    ({"tz": "Mars/Olympus"}, "Select a valid choice"),
    ({"brand": "no-such-brand"}, "Select a valid choice"),
])
def test_a_bad_filter_is_a_clear_error(manager_client, march, query, message):
    page = manager_client.get(URL, query)
    assert page.status_code == 400 and message in page.content.decode() and page.context["figures"] is None
    export = manager_client.get(URL, {**query, "format": "csv", "table": "summary"})
    assert export.status_code == 400 and message in export.content.decode()
    assert export["Content-Type"].startswith("text/plain")


def test_an_unknown_table_or_a_nul_byte_is_refused(manager_client, march):
    response = manager_client.get(URL, {**MARCH, "format": "csv", "table": "visitors"})
    assert response.status_code == 400 and "Unknown table" in response.content.decode()
    assert manager_client.get(URL, {"brand": "acme\x00"}).status_code == 400


def test_only_staff_with_the_permission_see_it(client, django_user_model, march):
    assert client.get(URL).status_code == 302  # to the admin's sign-in
    staff = django_user_model.objects.create_user("stan", password="pw-stan-12345", is_staff=True)
    sign_in(client, staff)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv", "table": "summary"}).status_code == 403
    assert "/admin/analytics/" not in client.get("/admin/").content.decode()


@pytest.fixture
def dave_client(client, manager, brand):
    """Carol limited to Acme (ManagerScope)."""
    ManagerScope.objects.create(user=manager).brands.set([brand])
    sign_in(client, manager)
    return client


def test_a_brand_scoped_manager_sees_nothing_of_other_brands(dave_client, march):
    page = dave_client.get(URL, MARCH)  # "All my brands": Acme only
    body = page.content.decode()
    assert page.context["figures"]["questions"]["asked"] == 5
    assert page.context["figures"]["moderation"]["blocks"] == 2
    for secret in ["Globex", "globex", "=Gina", "GlobexGus"]:
        assert secret not in body, secret
    refused = dave_client.get(URL, {**MARCH, "brand": "globex"})
    assert refused.status_code == 400 and refused.context["figures"] is None
    assert "Globex" not in refused.content.decode()
    for table in ["summary", "csat", "experts", "topics", "hours", "moderation"]:
        export = dave_client.get(URL, {**MARCH, "format": "csv", "table": table})
        assert export.status_code == 200
        assert "Gina" not in export.content.decode() and "Globex" not in export.content.decode()
        assert dave_client.get(URL, {**MARCH, "format": "csv", "table": table, "brand": "globex"}).status_code == 400
    experts = rows_of(dave_client.get(URL, {**MARCH, "format": "csv", "table": "experts"}))
    assert [row[0] for row in experts[1:]] == ["Alice", "Bob"]


def test_a_manager_scoped_to_no_brand_sees_zeros(client, manager, march):
    ManagerScope.objects.create(user=manager)
    sign_in(client, manager)
    figures = client.get(URL, MARCH).context["figures"]
    assert figures["questions"]["asked"] == 0 and figures["moderation"]["rows"][0] == ("Blocks", "total", 0)
    assert figures["experts"] == []
