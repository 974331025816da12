"""The web client's screenshots in docs/: a small product team's rooms, drawn by Debian's Chromium.

    .venv/bin/python -m tests.web.screenshots

It starts a server on a fresh SQLite database in a temporary directory, writes the team's
conversation over the REST API, and photographs what each member sees. The emoji need a
colour emoji font (Debian: fonts-noto-color-emoji)."""

from __future__ import annotations

import io
import math
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Browser, ViewportSize, expect, sync_playwright

from tests.conftest import ServiceProcess, service_env
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, ChatPage, Rest

DOCS = Path(__file__).resolve().parents[2] / "docs"
WIDE: ViewportSize = {"width": 1280, "height": 860}
NARROW: ViewportSize = {"width": 390, "height": 844}
PEOPLE = ("maya", "jonas", "priya", "sam", "lena")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def latency_chart() -> bytes:
    """A dashboard's chart: p95 latency on staging over an hour, a bump at the migration."""
    width, height, left, top, bottom, right = 960, 480, 90, 80, 60, 30
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    label, small = _font(30), _font(22)
    draw.text((left, 24), "staging · API p95 latency (ms)", fill=(40, 44, 52), font=label)
    plot_w, plot_h = width - left - right, height - top - bottom
    for i in range(5):
        y = top + plot_h * i / 4
        draw.line([(left, y), (width - right, y)], fill=(226, 230, 236), width=2)
        draw.text((20, y - 12), str(200 - 50 * i), fill=(110, 116, 128), font=small)
    points = []
    for minute in range(61):
        bump = 70 * math.exp(-(((minute - 38) / 3.0) ** 2))  # the migration, at minute 38
        value = 62 + 8 * math.sin(minute / 4) + 4 * math.sin(minute * 1.7) + bump
        points.append((left + plot_w * minute / 60, top + plot_h * (1 - value / 200)))
    migration_x = left + plot_w * 38 / 60
    draw.line([(migration_x, top), (migration_x, top + plot_h)], fill=(240, 162, 2), width=3)
    draw.text((migration_x + 10, top + 6), "migration 0042", fill=(138, 90, 0), font=small)
    draw.line(points, fill=(36, 86, 201), width=5, joint="curve")
    for minute in range(0, 61, 15):
        x = left + plot_w * minute / 60
        draw.text(
            (x - 20, height - bottom + 14),
            f"-{60 - minute}m" if minute < 60 else "now",
            fill=(110, 116, 128),
            font=small,
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class Team:
    """The team's accounts and rooms, written over REST."""

    def __init__(self, rest: Rest) -> None:
        self.rest = rest
        self.tokens = {name: rest.user(name) for name in PEOPLE}
        self.rooms: dict[str, int] = {}

    def room(self, owner: str, name: str, description: str, members: tuple[str, ...] = PEOPLE) -> int:
        room = self.rest.call(
            "POST", "/rooms", self.tokens[owner], 201, json={"name": name, "description": description}
        )
        for member in members:
            if member != owner:
                self.rest.call("POST", f"/rooms/{room['id']}/join", self.tokens[member], 204)
        self.rooms[name] = room["id"]
        return int(room["id"])

    def say(self, who: str, room: str, body: str, **extra: Any) -> int:
        path = f"/rooms/{self.rooms[room]}/messages"
        message = self.rest.call("POST", path, self.tokens[who], 201, json={"body": body, **extra})
        return int(message["seq"])

    def react(self, who: str, room: str, seq: int, emoji: str) -> None:
        path = f"/rooms/{self.rooms[room]}/messages/{seq}/reactions/{quote(emoji)}"
        self.rest.call("PUT", path, self.tokens[who], 204)

    def upload(self, who: str, filename: str, data: bytes, mime: str) -> str:
        response = self.rest.http.post(
            "/files", headers={"Authorization": f"Bearer {self.tokens[who]}"}, files={"file": (filename, data, mime)}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def read(self, who: str, room: str, seq: int) -> None:
        self.rest.call("POST", f"/rooms/{self.rooms[room]}/read", self.tokens[who], 204, json={"seq": seq})


def write_conversation(team: Team) -> dict[str, int]:
    """What the team said this morning; the seqs the screenshots need."""
    team.room("maya", "general", "Everything that is not a project")
    team.room("priya", "design", "Mockups, reviews and the design system")
    team.room("maya", "release-2.4", "Shipping 2.4 on Thursday: plan, checks, rollback")
    team.say("lena", "general", "The coffee machine on the 3rd floor works again ☕")
    team.say("sam", "general", "Reminder: all-hands moves to 16:00 today")

    seqs: dict[str, int] = {}
    plan = (
        "Morning all. `release/2.4` is cut, here is the plan for today:\n"
        "1. Freeze merges at **11:00**\n2. Run migration 0042 on staging\n3. Ship to 10% of users at 14:00"
    )
    seqs["plan"] = team.say("maya", "release-2.4", plan)
    team.say("jonas", "release-2.4", "Freeze is in. The last two fixes landed before it, CI is green on both.")
    chart = team.upload("priya", "staging-latency.png", latency_chart(), "image/png")
    seqs["chart"] = team.say(
        "priya",
        "release-2.4",
        "Staging migration done in 42 s, no lock held longer than _200 ms_. p95 went back to normal within 5 minutes:",
        files=[chart],
    )
    seqs["changelog"] = team.say(
        "sam",
        "release-2.4",
        "The changelog draft is at https://example.com/changelog/2.4, please check the wording of the "
        "~~beta~~ export section.",
    )
    seqs["sql"] = team.say(
        "maya",
        "release-2.4",
        "Looks good. One thing before we ship: this runs outside the transaction, so let's watch the lock graph.\n"
        "```\nCREATE INDEX CONCURRENTLY invoices_due_at ON invoices (due_at);\n```",
    )
    seqs["support"] = team.say(
        "lena",
        "release-2.4",
        "> Ship to 10% of users at 14:00\nSupport is briefed and the help-centre macros are updated.",
    )
    seqs["rollback"] = team.say("jonas", "release-2.4", "@priya could you post the rollback steps in this thread?")
    team.say(
        "priya",
        "release-2.4",
        "Sure: `make rollback VERSION=2.3.7`, then purge the CDN cache.",
        thread_seq=seqs["rollback"],
    )
    team.say("jonas", "release-2.4", "Perfect, thanks!", thread_seq=seqs["rollback"])
    team.say("sam", "release-2.4", "Added both steps to the runbook.", thread_seq=seqs["rollback"])
    team.say("priya", "release-2.4", "In the design review for the next hour. Ping me if the canary looks odd.")

    for who, seq, emoji in [
        ("maya", seqs["chart"], "🎉"),
        ("jonas", seqs["chart"], "🎉"),
        ("sam", seqs["chart"], "🎉"),
        ("lena", seqs["chart"], "👀"),
        ("jonas", seqs["sql"], "👍"),
        ("priya", seqs["sql"], "👍"),
        ("maya", seqs["support"], "❤️"),
    ]:
        team.react(who, "release-2.4", seq, emoji)
    team.rest.call("PUT", f"/rooms/{team.rooms['release-2.4']}/pins/{seqs['plan']}", team.tokens["maya"], 204)

    team.say("priya", "design", "New empty states for the inbox are up for review.")
    team.say("jonas", "design", "@maya the settings page mock has the new danger zone you asked for")
    # Sam read up to the changelog this morning; everything after it is new to him.
    team.read("sam", "release-2.4", seqs["changelog"])
    for who in ("maya", "jonas", "priya", "lena"):
        team.read(who, "release-2.4", 10_000)
    return seqs


def open_as(browser: Browser, base: str, who: str, viewport: ViewportSize) -> ChatPage:
    # Notifications allowed, as a team that uses the chat would have them.
    context = browser.new_context(
        viewport=viewport, color_scheme="light", timezone_id="America/New_York", permissions=["notifications"]
    )
    chat = ChatPage(context.new_page(), base)
    chat.log_in(who)
    return chat


def settle(chat: ChatPage) -> None:
    """Everything drawn: the socket live, the thumbnails painted, nothing moving."""
    chat.wait_live()
    for canvas in chat.page.locator("#messages canvas.thumbnail").all():
        expect(canvas).to_have_attribute("data-state", "shown")
    chat.page.mouse.move(0, 0)


def shoot(chat: ChatPage, name: str) -> None:
    chat.page.screenshot(path=DOCS / name)
    print(f"wrote docs/{name}")


def scroll_to(chat: ChatPage, seq: int) -> None:
    """The message at the top of the log."""
    chat.page.locator(f"#messages li[data-seq='{seq}']").evaluate("item => item.scrollIntoView({block: 'start'})")


def take(browser: Browser, base: str, seqs: dict[str, int]) -> None:
    # Sam read up to the changelog: the room opens at the line above what came since.
    sam = open_as(browser, base, "sam", WIDE)
    sam.my_room_button("release-2.4").click()
    expect(sam.page.locator("#messages .unread-line")).to_have_count(1)
    settle(sam)
    shoot(sam, "web-client-unread.png")

    lena = open_as(browser, base, "lena", NARROW)
    lena.my_room_button("release-2.4").click()
    settle(lena)
    scroll_to(lena, seqs["sql"])
    shoot(lena, "web-client-narrow.png")

    # Maya, with Sam and Lena online: the room, its thread, its settings.
    maya = open_as(browser, base, "maya", WIDE)
    maya.open_room("release-2.4")
    expect(maya.messages).to_have_count(8)
    expect(maya.online).to_have_count(3)
    settle(maya)
    scroll_to(maya, seqs["chart"])
    shoot(maya, "web-client.png")

    maya.message("@priya could you post the rollback steps in this thread?").locator(".thread-summary").click()
    expect(maya.page.locator("#thread-replies li[data-seq]")).to_have_count(3)
    settle(maya)
    scroll_to(maya, seqs["changelog"])
    shoot(maya, "web-client-thread.png")
    maya.page.get_by_role("button", name="Close").click()

    maya.page.get_by_role("button", name="Settings").click()
    expect(maya.page.get_by_label("Room name")).to_be_focused()
    maya.page.get_by_label("Room name").blur()
    shoot(maya, "web-client-settings.png")
    for chat in (maya, sam, lena):
        assert chat.errors == [], chat.errors
        chat.page.context.close()


def main() -> int:
    if not CHROMIUM.exists():
        print(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="chat-screenshots-") as tmp:
        workdir = Path(tmp)
        env = service_env(f"sqlite+aiosqlite:///{workdir / 'chat.db'}", CHAT_FILES_URL=str(workdir / "files"))
        with ServiceProcess(env, workdir) as service, sync_playwright() as playwright:
            rest = Rest(service.base)
            try:
                seqs = write_conversation(Team(rest))
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    take(browser, service.base, seqs)
                finally:
                    browser.close()
            finally:
                rest.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
