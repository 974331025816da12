// Dates as the log shows them: day separators that say Today or Yesterday and the date,
// and the full date and time of a message (its time's title), all in local time.

import { el } from "./dom.js";

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** The local day as YYYY-MM-DD (a <time>'s datetime). */
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** "Today · Monday, 7 December", "Yesterday · …", or the date (with the year when not this one). */
export function dayLabel(date, now = new Date()) {
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  const text = date.toLocaleDateString([], options);
  const today = startOfDay(now);
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return `Today · ${text}`;
  if (dayKey(date) === dayKey(yesterday)) return `Yesterday · ${text}`;
  return text;
}

/** The full date and time, e.g. "Monday, 7 December 2026 at 14:07". */
export function fullDate(date) {
  return date.toLocaleString([], { dateStyle: "full", timeStyle: "short" });
}

/** The separator that starts a day in the log: an item of the list like the messages (a list
 * holds list items only), read out as the date it shows. */
export function daySeparator(date) {
  const separator = el("li", "day-separator");
  const label = el("time", "", dayLabel(date));
  label.dateTime = isoDay(date);
  separator.append(label);
  return separator;
}

/** A message's time: hours and minutes, the full date in its title. */
export function timeOf(iso, className = "") {
  const when = new Date(iso);
  const time = el("time", className, when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  time.dateTime = iso;
  time.title = fullDate(when);
  return time;
}
