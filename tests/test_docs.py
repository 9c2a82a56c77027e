"""The docs stay true to the repository: every setting documented, every cited file present."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# How settings read the environment: env_bool("X"), env_int("X", ...), os.environ.get("X", ...), ...
READS = re.compile(r"""(?:env_bool|env_int|env_list|env_float|os\.environ\.get|os\.environ\.setdefault|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")


def configuration_table() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]


def test_every_environment_variable_the_settings_read_is_in_the_readme_configuration_table():
    # Guards against: a setting nobody can find (SECURE_SSL_REDIRECT and SECURE_COOKIES were missing).
    read = set(READS.findall((ROOT / "chatplatform" / "settings.py").read_text()))
    assert {"SECURE_SSL_REDIRECT", "SECURE_COOKIES", "DATABASE_URL"} <= read  # the pattern finds what it should
    table = configuration_table()
    wildcards = [name[:-1] for name in re.findall(r"`([A-Z_]+\*)`", table)]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    missing = sorted(name for name in read if name not in documented and not any(name.startswith(w) for w in wildcards))
    assert missing == []


def test_docs_cite_only_files_that_are_in_the_repository():
    # Guards against: docs and code pointing readers at a protocol file outside the repository (../shared/).
    cited = []
    for path in [*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("*/*.py"), *ROOT.glob("static/*/*.js")]:
        text = path.read_text()
        cited += [(path.name, ref) for ref in re.findall(r"\.\./[\w./-]+\.md|\b[A-Z]+\.md\b", text)]
    allowed = {"README.md"}
    broken = [(name, ref) for name, ref in cited if ref not in allowed and not (ROOT / ref).exists()
              and not (ROOT / "docs" / ref).exists()]
    assert broken == []
