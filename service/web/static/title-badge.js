// The tab tells what is unread while the user looks elsewhere: the unread and mention
// totals of their rooms lead the title ("(3, @1) Chat: lobby"), and the icon carries a
// dot. The page's policy allows images from its own origin only (no data: URL drawn on
// a canvas), so the icon swaps between two static files.

const BADGE = /^\((\d+)(, @\d+)?\) /;

/** {unread, mentions} over the user's rooms (not those merely previewed). */
export function unreadTotals(rooms) {
  let unread = 0;
  let mentions = 0;
  for (const room of rooms) {
    if (!room.member) continue;
    unread += room.unread;
    mentions += room.mentions;
  }
  return { unread, mentions };
}

/** `title` with the totals in front of it (any earlier ones replaced). */
export function badgedTitle(title, { unread, mentions }) {
  const bare = title.replace(BADGE, "");
  if (!unread) return bare;
  return `(${unread}${mentions ? `, @${mentions}` : ""}) ${bare}`;
}

export function iconFor({ unread }) {
  return unread ? "favicon-unread.svg" : "favicon.svg";
}

export class TitleBadge {
  /** The views set the title's text ("Chat: lobby"); the totals are put back in front of
   * it whenever it or the counts change. */
  constructor(state) {
    this.state = state;
    this.totals = { unread: 0, mentions: 0 };
    state.onChange((what) => {
      if (what === "rooms" || what === "current") this.render();
    });
    const title = document.querySelector("title");
    new MutationObserver(() => this.#title()).observe(title, { childList: true, characterData: true, subtree: true });
  }

  render() {
    this.totals = unreadTotals(this.state.rooms.values());
    this.#title();
    const icon = document.querySelector('link[rel="icon"]');
    const href = iconFor(this.totals);
    if (icon && icon.getAttribute("href") !== href) icon.setAttribute("href", href);
  }

  #title() {
    const title = badgedTitle(document.title, this.totals);
    if (title !== document.title) document.title = title; // the observer sees it once more, unchanged
  }
}
