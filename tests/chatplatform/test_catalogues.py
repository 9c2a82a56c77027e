"""The translation catalogues are complete: every string the templates, Python and scripts mark has a French
translation, neither fuzzy nor empty, with the same placeholders (docs/operations.md, "Adding a language")."""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from chatplatform.error_texts import ERROR_TEXTS

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]  # English is the source text
DOMAINS = ["django", "djangojs"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def committed(language: str, domain: str) -> polib.POFile:
    return polib.pofile(str(Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / f"{domain}.po"))


def gaps(catalogue: polib.POFile, wanted) -> list[str]:
    """What ``catalogue`` lacks of the ``wanted`` entries: missing, fuzzy, empty, or with other placeholders."""
    found = []
    for entry in wanted:
        have = catalogue.find(entry.msgid, msgctxt=entry.msgctxt) if entry.msgctxt else catalogue.find(entry.msgid)
        name = f"{entry.msgctxt + ': ' if entry.msgctxt else ''}{entry.msgid!r}"
        if have is None or have.obsolete:
            found.append(f"missing {name}")
        elif "fuzzy" in have.flags:
            found.append(f"fuzzy {name}")
        elif entry.msgid_plural and (have.msgid_plural != entry.msgid_plural
                                     or not all(have.msgstr_plural.get(i) for i in range(2))):
            found.append(f"untranslated plural {name}")
        elif not entry.msgid_plural and not have.msgstr:
            found.append(f"empty {name}")
        else:
            texts = list(have.msgstr_plural.values()) if entry.msgid_plural else [have.msgstr]
            source = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
            for text in texts:
                if not set(PLACEHOLDER.findall(text)) <= source:
                    found.append(f"placeholders differ in {name}: {text!r}")
    return found


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_catalogues_have_no_fuzzy_or_empty_entry(language, domain):
    catalogue = committed(language, domain)
    assert not catalogue.metadata_is_fuzzy
    assert catalogue.percent_translated() == 100, gaps(catalogue, [e for e in catalogue if not e.obsolete])
    assert gaps(catalogue, [e for e in catalogue if not e.obsolete]) == []


# What makemessages reads: the apps, the project's templates and the scripts.
SOURCES = ["chatplatform", "visitors", "experts", "moderation", "analytics", "attachments", "templates", "static"]


@pytest.mark.gettext
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_the_code_marks_is_translated(language, tmp_path, settings, monkeypatch):
    """makemessages (our make_catalogues) on a copy of the sources, then compare its msgids with the committed ones.

    A copy: makemessages writes next to the sources (./locale), and the working tree must stay as it is.
    """
    for name in SOURCES:
        shutil.copytree(Path(settings.BASE_DIR) / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "locale" / language / "LC_MESSAGES").mkdir(parents=True)
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path)
    call_command("make_catalogues", locale=[language], verbosity=0)
    lacking = {}
    for domain in DOMAINS:
        extracted = polib.pofile(str(tmp_path / "locale" / language / "LC_MESSAGES" / f"{domain}.po"))
        assert len(extracted) > 50, f"{domain}: makemessages found almost nothing ({len(extracted)})"
        lacking[domain] = gaps(committed(language, domain), extracted)
    # Fix: `manage.py make_catalogues -l <language>`, translate locale/<language>/LC_MESSAGES/*.po, `make install`.
    assert lacking == {domain: [] for domain in DOMAINS}


def test_the_completeness_check_catches_a_missing_a_fuzzy_and_an_empty_string():
    wanted = polib.POFile()
    for msgid in ("Send", "Cancel", "Save", "Reply to %(name)s"):
        wanted.append(polib.POEntry(msgid=msgid))
    catalogue = polib.POFile()
    catalogue.append(polib.POEntry(msgid="Send", msgstr="Envoyer"))
    catalogue.append(polib.POEntry(msgid="Cancel", msgstr="Annuler", flags=["fuzzy"]))
    catalogue.append(polib.POEntry(msgid="Save", msgstr=""))
    catalogue.append(polib.POEntry(msgid="Reply to %(name)s", msgstr="Répondre à %(nom)s"))
    assert gaps(catalogue, wanted) == [
        "fuzzy 'Cancel'", "empty 'Save'", "placeholders differ in 'Reply to %(name)s': 'Répondre à %(nom)s'"]
    assert gaps(catalogue, [polib.POEntry(msgid="Quit")]) == ["missing 'Quit'"]


def test_every_literal_error_detail_is_in_the_translated_list():
    """A ChatError's literal detail reaches a person: it must be in ERROR_TEXTS to be sent in their language."""
    literal = {}
    for app in ("chatplatform", "visitors", "experts", "moderation", "analytics", "attachments"):
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                name = getattr(node.func, "id", getattr(node.func, "attr", None)) if isinstance(node, ast.Call) else None
                if name == "ChatError" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                    literal[node.args[1].value] = str(path.relative_to(settings.BASE_DIR))
    assert len(literal) > 20
    assert {text: where for text, where in literal.items() if text not in ERROR_TEXTS} == {}


def test_compiled_catalogues_are_built_not_committed():
    tracked = subprocess.run(["git", "ls-files", "locale"], cwd=settings.BASE_DIR, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked and not [path for path in tracked if path.endswith(".mo")]
    for language in TRANSLATED:
        for domain in DOMAINS:
            assert (Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / f"{domain}.mo").is_file()
