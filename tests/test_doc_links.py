"""Every relative link and image in README.md and docs/ points at a file that exists.

The measurement logs moved into docs/log/ (forty-third session); a link that still points at the old
place, or one that forgets the log's `../`, fails here rather than in a reader's browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """The page without code blocks and inline code, where `](...)` is Python, not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _relative_targets(page: Path) -> list[str]:
    targets = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # web addresses and in-page anchors
        targets.append(target.split("#", 1)[0])
    return targets


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(page: Path):
    missing = [t for t in _relative_targets(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_the_checker_sees_a_broken_link(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "[here](missing.md) and [web](https://example.org) and ![img](there.png) `f[0](x)`\n"
        "```\ny[1](z)\n```\n"
    )
    assert _relative_targets(page) == ["missing.md", "there.png"]
