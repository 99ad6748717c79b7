"""What every vhod page must hold up to in a real browser (issue 15), checked once per page
kind and language the tests walk through:

* at 360×740 (a small phone) and 1280×800: no horizontal scrolling, text of at least
  16 px, tap targets (buttons, fields, links in forms and navigation) of at least 44 px;
  a full-page screenshot at both sizes;
* a label for every field, one ``h1`` and no skipped heading levels, ``lang`` set, a
  visible focus ring on every control reached with Tab;
* no words of the other language (the catalogue's texts, ``messages.toml``) and, on an
  English page, no Cyrillic on buttons, labels and table headings;
* axe-core (``tests/e2e/axe``, pinned in its ``package-lock.json``): no serious or
  critical violation (JavaScript contexts only: axe needs page timers).

A vhod page is one that links ``vhod.css``; the sandbox and the demo school are not
checked. Screenshots go to ``$VHOD_SCREENSHOTS`` or ``var/screenshots`` under pytest's
temporary directory, with an ``index.txt`` (file, address, heading).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.backends import require

SIZES = ((360, 740), (1280, 800))
SCRIPTS = Path(__file__).resolve().parent / "page_js"
AXE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
MAX_TABS = 14


def _script(name: str) -> str:
    """A function for ``page.evaluate`` from ``page_js/`` (kept as JavaScript files)."""
    lines = (SCRIPTS / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("//"))


_LAYOUT_JS = _script("layout.js")

_FOCUS_JS = _script("focus.js")

_TEXT_JS = _script("text.js")

_AXE_JS = """
() => axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
})))
"""

_CYRILLIC = re.compile("[А-Яа-яЁё]")
_ID_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{16,}$")


AXE_MISSING = "axe-core is not installed (npm missing or offline? cd tests/e2e/axe && npm ci)"


def axe_source() -> str | None:
    """axe-core's source (``make test`` installs it; else ``npm ci`` in ``tests/e2e/axe``
    here, when npm is there); ``None`` when it cannot be had — the pages are then checked
    without axe and ``require_axe`` skips (locally) or fails (``CI=true``)."""
    if not AXE_FILE.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=AXE_DIR,
            check=False,
            timeout=300,
        )
    return AXE_FILE.read_text(encoding="utf-8") if AXE_FILE.exists() else None


def require_axe() -> None:
    """Skip (locally) or fail (CI) the calling test when axe-core is missing."""
    require("axe-core", AXE_FILE.exists(), AXE_MISSING)


def foreign_words(messages: dict[str, dict[str, str]], lang: str) -> list[str]:
    """Texts of the other language that must not appear on a page in ``lang``: the
    catalogue's values that differ between the languages and appear nowhere in ``lang``'s."""
    other = "en" if lang == "ru" else "ru"
    own = " ".join(messages[lang].values())
    words = set()
    for key, value in messages[other].items():
        if value == messages[lang].get(key) or "{" in value or len(value) < 4:
            continue
        if value not in own:
            words.add(value)
    return sorted(words, key=len, reverse=True)


def plain_path(url: str) -> str:
    """``url``'s path with its ids (journeys, tokens) blanked: ``/login/_/consent``."""
    return "/".join("_" if _ID_SEGMENT.match(p) else p for p in urlsplit(url).path.split("/"))


def page_key(page: Any, heading: str) -> str:
    """One page kind: the path with its ids blanked, its heading, the form it shows and
    whether it shows a table, a notice or problems."""
    variant = ""
    if page.locator("input[name=code]").count():
        variant = " code"
    elif page.locator("form[data-poll]").count():
        variant = " push"
    shows = [n for n in ("table", "h2", ".notice", ".problems") if page.locator(n).count()]
    return f"{plain_path(page.url) or '/'} {heading}{variant} {' '.join(shows)}".strip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "page"


@dataclass
class PageAudit:
    """The checks above, once per page kind and language; screenshots into ``folder``."""

    folder: Path
    axe: str | None
    messages: Any  # () -> the catalogue, read when a page is checked (ESIA texts join late)
    seen: set[str] = field(default_factory=set)
    pages: list[str] = field(default_factory=list)

    def visit(self, page: Any, scripts: bool = True) -> None:
        """Check ``page`` (a Playwright page) if it is a vhod page not checked yet;
        ``scripts``: whether the page's context runs JavaScript (axe needs it)."""
        if not page.locator("link[rel=stylesheet][href*='vhod.css']").count():
            return
        lang = str(page.evaluate("document.documentElement.lang"))
        h1 = page.locator("h1")
        heading = re.sub(r"\s+", " ", h1.first.inner_text()).strip() if h1.count() else ""
        key = f"{lang} {page_key(page, heading)}"
        if key in self.seen:
            return
        self.seen.add(key)
        name = f"{len(self.seen):03d}-{lang}-{slug(plain_path(page.url))}"
        problems = self._check(page, lang, name, scripts)
        assert not problems, f"{key} ({page.url}):\n  " + "\n  ".join(problems)

    def _check(self, page: Any, lang: str, name: str, scripts: bool) -> list[str]:
        problems: list[str] = []
        original = page.viewport_size
        try:
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                shot = self.folder / f"{name}-{width}x{height}.png"
                page.screenshot(path=str(shot), full_page=True)
                self.pages.append(f"{shot.name}\t{page.url}\t{page.title()}")
                problems += [f"{width}px: {p}" for p in page.evaluate(_LAYOUT_JS)]
            problems += self._focus(page)
            problems += self._language(page, lang)
            if self.axe is not None and scripts:
                problems += self._axe(page)
        finally:
            if original:
                page.set_viewport_size(original)
        return problems

    def _focus(self, page: Any) -> list[str]:
        page.evaluate(
            "() => { const a = document.activeElement;"
            " if (a && a !== document.body) a.setAttribute('data-audit-focus', ''); }"
        )
        problems = []
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        for _ in range(MAX_TABS):
            page.keyboard.press("Tab")
            missing = page.evaluate(_FOCUS_JS)
            if missing is None:
                break
            if missing:
                problems.append(f"no visible focus on {missing}")
        page.evaluate(
            "() => { const el = document.querySelector('[data-audit-focus]');"
            " if (el) { el.removeAttribute('data-audit-focus'); el.focus(); }"
            " else if (document.activeElement) document.activeElement.blur(); }"
        )
        return problems

    def _language(self, page: Any, lang: str) -> list[str]:
        seen = page.evaluate(_TEXT_JS)
        text = seen["text"]
        problems = [
            f"{'English' if lang == 'ru' else 'Russian'} on a {lang} page: «{word}»"
            for word in foreign_words(self.messages(), lang)
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
        ]
        if lang == "en":
            problems += [
                f"Cyrillic on an English page: «{c.strip()[:40]}»"
                for c in seen["chrome"]
                if _CYRILLIC.search(c)
            ]
        return problems

    def _axe(self, page: Any) -> list[str]:
        page.evaluate(self.axe)
        found = page.evaluate(_AXE_JS)
        return [
            f"axe {v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}"
            for v in found
            if v["impact"] in BLOCKING_IMPACTS
        ]

    def write_index(self) -> None:
        (self.folder / "index.txt").write_text("\n".join(self.pages) + "\n", encoding="utf-8")
