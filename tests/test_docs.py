"""The README stays short and every link in the docs leads somewhere that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250
RUN = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/chat-service serve"
TEST = (
    "python3 -m venv .venv && .venv/bin/pip install -q uv"
    " && .venv/bin/uv pip install -q --python .venv/bin/python -e '.[test]' && .venv/bin/python -m pytest -n auto"
)

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.I)


def _prose(text: str) -> str:
    """The text without code blocks: a `# comment` there is no heading, `](x)` no link."""
    return _FENCE.sub("", text)


def _anchors(path: Path) -> set[str]:
    """GitHub's ids for the headings of a Markdown file."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _HEADING.findall(_prose(path.read_text())):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(path: Path) -> list[str]:
    return _LINK.findall(_CODE_SPAN.sub("``", _prose(path.read_text())))


def test_readme_is_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/ (at most {README_MAX_LINES})"


def test_readme_keeps_the_commands_ci_runs() -> None:
    text = README.read_text()
    assert RUN in text and TEST in text
    assert (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1] == TEST


def test_readme_links_the_example_client() -> None:
    assert "examples/follow.py" in _links(README)
    assert (ROOT / "examples" / "follow.py").is_file()


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_links_point_at_files_and_headings_in_the_repository(doc: Path) -> None:
    broken = []
    for link in _links(doc):
        if _SCHEME.match(link):
            broken.append(f"{link}: points outside the repository")
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no such heading in {path.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)
