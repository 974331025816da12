"""axe-core (vendored in tests/web/vendor/axe-core) run on a page of the client, and what
Chromium's accessibility tree says an element is named.

The script is evaluated over the DevTools protocol (Runtime.evaluate): the page's
Content-Security-Policy stays as served, allowing no script but the client's own."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_21_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@cache
def _script() -> str:
    return AXE.read_text(encoding="utf-8")


def _evaluate(page: Page, expression: str) -> dict[str, Any]:
    session = page.context.new_cdp_session(page)
    try:
        reply: dict[str, Any] = session.send("Runtime.evaluate", {"expression": expression})
    finally:
        session.detach()
    assert "exceptionDetails" not in reply, reply["exceptionDetails"]
    return reply


def violations(page: Page) -> list[str]:
    """The WCAG 2.1 A and AA rules the page as shown breaks, one line per element."""
    if not page.evaluate("typeof window.axe === 'object'"):
        _evaluate(page, _script())
    found: list[dict[str, Any]] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(results => results.violations)",
        WCAG_21_A_AA,
    )
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} at {node['target']}: {node['failureSummary']}"
        for rule in found
        for node in rule["nodes"]
    ]


def focused_name(page: Page) -> tuple[str, str, str]:
    """The focused element's (role, accessible name, outer HTML start), as Chromium's tree has them."""
    session = page.context.new_cdp_session(page)
    try:
        element = session.send("Runtime.evaluate", {"expression": "document.activeElement"})["result"]
        query = {"objectId": element["objectId"], "fetchRelatives": False}
        tree = session.send("Accessibility.getPartialAXTree", query)
    finally:
        session.detach()
    node = tree["nodes"][0]
    html: str = page.evaluate("document.activeElement.outerHTML.slice(0, 160)")
    return node.get("role", {}).get("value", ""), str(node.get("name", {}).get("value", "")).strip(), html
