"""A real daphne server on the pytest test database, and Debian's chromium driven by Playwright.

The server runs as a subprocess (the way it runs in production), so the test
database must be one another process can open: a file for SQLite (see
chatplatform/test_settings.py), the test database for PostgreSQL.
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.servers import daphne_server
from tests.support import chromium

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def live_server_url(browser, transactional_db):
    """Start daphne against the test database (with the demo data); yield its base URL."""
    call_command("seed_demo", stdout=io.StringIO())
    with daphne_server(
        DJANGO_SETTINGS_MODULE="chatplatform.test_settings",  # same password hasher as the tests
        SECRET_KEY="browser-test-key-not-secret",
        LOG_LEVEL="WARNING",
    ) as base:
        try:
            yield str(base)
        finally:
            output = base.log_path.read_text(errors="replace")
            if "Traceback" in output:
                print(output)  # shown by pytest when the test fails


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Replace the root conftest's async fixture: Playwright's sync API runs its own
    event loop, and the server's channel layer lives in the daphne process anyway."""
    yield


@pytest.fixture(scope="package")
def browser():
    """One chromium for the browser tests; closed before any asyncio test runs again."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls; the tests' ORM use is plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh browser context (its own cookies and storage), with dialogs recorded."""
    contexts = []

    def make(viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []

        def on_dialog(dialog):
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(tmp_path):
    """Take a screenshot; it replaces the tracked one under docs/screenshots only when asked (SCREENSHOTS=1,
    `make screenshots`), so that `make test` leaves the working tree as it found it."""
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name, **options):
        page.screenshot(path=str(folder / f"{name}.png"), **options)

    return save
