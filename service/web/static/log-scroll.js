// Where the log is scrolled to: kept in place when the log is drawn again (a page of
// older history above, a hole paged in between), followed at the end, or moved to one
// message (a search result).

const AT_END_PX = 48;

export function isAtEnd(scroll) {
  return scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < AT_END_PX;
}

export function scrollToEnd(scroll) {
  scroll.scrollTop = scroll.scrollHeight;
}

/** What the reader looks at: the first message in view and where, unless at the end. */
export function anchorOf(scroll, list) {
  const fromBottom = scroll.scrollHeight - scroll.scrollTop;
  if (isAtEnd(scroll)) return { seq: null, fromBottom };
  const top = scroll.getBoundingClientRect().top;
  for (const item of list.querySelectorAll("li[data-seq]")) {
    const at = item.getBoundingClientRect();
    if (at.bottom > top) return { seq: item.dataset.seq, top: at.top, fromBottom };
  }
  return { seq: null, fromBottom };
}

/** The same message where it was, after the list was drawn again (else the same distance from the end). */
export function restore(scroll, list, anchor) {
  const item = anchor.seq === null ? null : list.querySelector(`li[data-seq="${anchor.seq}"]`);
  if (item) scroll.scrollTop += item.getBoundingClientRect().top - anchor.top;
  else scroll.scrollTop = scroll.scrollHeight - anchor.fromBottom;
}

/** The item in the middle of the log (at the top if it is taller). */
export function centre(scroll, item) {
  const box = scroll.getBoundingClientRect();
  const at = item.getBoundingClientRect();
  scroll.scrollTop += at.top - box.top - Math.max(0, (scroll.clientHeight - at.height) / 2);
}
