"""The analytics tables as CSV (``?format=csv&table=…``), safe to open in a spreadsheet."""

import csv

from django.http import HttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value):
    """``value`` as a spreadsheet shows it: text that would start a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def tables(figures: dict) -> dict:
    """Each exportable table: name -> (header, rows), from the page's figures."""
    questions, first, csat = figures["questions"], figures["first_response"], figures["csat"]
    return {
        "summary": (["figure", "value"], [
            ["questions asked", questions["asked"]],
            ["answered", questions["answered"]],
            ["unanswered", questions["unanswered"]],
            ["answered (%)", questions["answered_percent"]],
            ["first response p50 (s)", first["p50_seconds"]],
            ["first response p90 (s)", first["p90_seconds"]],
            ["rated", csat["rated"]],
            ["CSAT average (1-5)", csat["average"]],
            ["satisfied, 4 or 5 (%)", csat["satisfied_percent"]],
        ]),
        "csat": (["score", "conversations"], [list(pair) for pair in csat["distribution"]]),
        "experts": (["expert", "conversations answered", "messages", "rated", "average rating"], [
            [row["expert"], row["conversations"], row["messages"], row["rated"], row["average_rating"]]
            for row in figures["experts"]
        ]),
        "topics": (["topic", "asked", "answered", "unanswered"], [
            [row["topic"] or "(no topic)", row["asked"], row["answered"], row["unanswered"]] for row in figures["topics"]
        ]),
        "hours": (["weekday", *[f"{hour:02d}:00" for hour in range(24)]], [
            [day, *hours] for day, hours in figures["hours"]["grid"]
        ]),
        "moderation": (["record", "what", "count"], [list(row) for row in figures["moderation"]["rows"]]),
    }


TABLES = ["summary", "csat", "experts", "topics", "hours", "moderation"]


def response(header, rows, filename: str) -> HttpResponse:
    answer = HttpResponse(content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(answer)
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return answer
