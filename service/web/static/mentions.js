// Mentions as the server reads them (docs/stream-entries.md): `@name` at the start of
// the body or after a character that cannot be part of a username, the name being the
// run of username characters after `@` (or, when no member has that name, the run
// without its trailing `.` and `-`, so "@bob." at the end of a sentence names bob);
// `@room` names everyone. Pure functions, no DOM: the views build the nodes.

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const MENTION = /@([A-Za-z0-9_.-]+)/g;

/** The body cut into runs of text, each {text, mention}: mention is `kind(name)` for a
 * mention (e.g. "me", "other"), null for plain text. `kind(lowercased name)` answers null
 * when the name names no one the message mentions. */
export function mentionRuns(body, kind) {
  const runs = [];
  let from = 0;
  for (const match of body.matchAll(MENTION)) {
    const at = match.index;
    if (at > 0 && NAME_CHAR.test(body[at - 1])) continue;
    let name = match[1];
    let found = kind(name.toLowerCase());
    const trimmed = name.replace(/[.-]+$/, "");
    if (found === null && trimmed && trimmed !== name) {
      name = trimmed;
      found = kind(name.toLowerCase());
    }
    if (found === null) continue;
    if (at > from) runs.push({ text: body.slice(from, at), mention: null });
    runs.push({ text: `@${name}`, mention: found });
    from = at + 1 + name.length;
  }
  if (from < body.length || !runs.length) runs.push({ text: body.slice(from), mention: null });
  return runs;
}

/** How a message's mentions read: lowercased name → "me" | "other", from its `mentions`
 * ids and the names known (`names`: id → username), and "room" when it says @room. */
export function mentionKinds(message, names, meId) {
  const kinds = new Map();
  for (const id of message.mentions ?? []) {
    const name = names.get(id);
    if (name) kinds.set(name.toLowerCase(), id === meId ? "me" : "other");
  }
  if (message.mentions_room) kinds.set("room", "room");
  return (name) => kinds.get(name) ?? null;
}

/** Does the message mention the user (by name, or @room)? */
export function mentionsUser(message, meId) {
  return Boolean(message.mentions_room) || (message.mentions ?? []).includes(meId);
}

/** The mention being typed at the caret: {start (of the "@"), query}, or null. */
export function mentionAt(value, caret) {
  let start = caret;
  while (start > 0 && NAME_CHAR.test(value[start - 1])) start -= 1;
  if (start === 0 || value[start - 1] !== "@") return null;
  const at = start - 1;
  if (at > 0 && NAME_CHAR.test(value[at - 1])) return null; // an address, not a mention
  return { start: at, query: value.slice(start, caret) };
}

/** Who the autocomplete offers for `query`: members whose name starts with it (ignoring
 * case), then "room"; the user themself is left out. At most `limit`. */
export function mentionCandidates(members, query, meId, limit = 8) {
  const q = query.toLowerCase();
  const names = members
    .filter((user) => user.id !== meId && user.username.toLowerCase().startsWith(q))
    .map((user) => user.username)
    .sort((a, b) => a.localeCompare(b));
  if ("room".startsWith(q)) names.push("room");
  return names.slice(0, limit);
}

/** The input's value with the mention at `found` completed to `name`, and the caret after it. */
export function completeMention(value, found, caret, name) {
  const before = value.slice(0, found.start);
  const after = value.slice(caret).replace(/^[A-Za-z0-9_.-]*/, "");
  const inserted = `@${name} `;
  const rest = after.startsWith(" ") ? after.slice(1) : after;
  return { value: before + inserted + rest, caret: before.length + inserted.length };
}
