"""The README and docs/ as a contract: every link leads somewhere that
exists, every command is written as it works after the README's first
command (`.venv/bin/...`), the README stays a front door, and every
setting the service reads is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation
    dropped, spaces as hyphens."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_leads_to_a_page_and_heading_that_exist(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: {target}"


# a command as a user would type it: `python -m server ...`, `pip install ...`
BARE = re.compile(r"(?<![\w/.-])(?:python3? -m (?:server|bench|pytest)|pip install)\b")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_commands_run_from_the_virtual_environment(page):
    """The README's first command makes .venv; a bare `python -m server`
    would run the system's Python, without the project's packages."""
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if "python:3.11-slim" in line:  # (the command inside the Docker image is its own)
            continue
        assert not BARE.search(line), f"{page.name}:{number}: {line.strip()}"


def test_the_readme_is_a_front_door():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) < 200
    for command in ("bash start.sh", "bash tests/run.sh"):
        assert f"\n{command}\n" in text
    for page in (REPO / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"docs/{page.name}" in text or f"docs/{page.name}" in (REPO / "docs" / "README.md").read_text() \
                or f"]({page.name})" in (REPO / "docs" / "README.md").read_text(), page.name


def test_every_setting_the_service_reads_is_documented():
    source = (REPO / "server" / "settings.py").read_text()
    names = set(re.findall(r'"([A-Z][A-Z0-9_]*[A-Z0-9])"', source))
    assert {"DATABASE_URL", "DB_TIMEOUT", "RATE_LIMIT_PER_MINUTE"} <= names
    documented = (REPO / "docs" / "settings.md").read_text()
    assert sorted(name for name in names if f"`{name}`" not in documented) == []
