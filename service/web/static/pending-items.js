// What the user sent that the server has not echoed yet, as items of a list: "sending…",
// or "not sent: <why>" with Discard. The log shows the room's, a thread its own.

import { el } from "./dom.js";
import { messageItem } from "./message-item.js";

/** The pending sends of `room` in the thread `threadSeq` (null: the log's), as <li>s;
 * discard(clientMsgId) when the user gives one up. */
export function pendingItems(room, me, threadSeq, discard) {
  const items = [];
  for (const [id, entry] of room.pending) {
    if ((entry.threadSeq ?? null) !== threadSeq) continue;
    const item = messageItem({ user: me, body: entry.body, files: entry.files ?? [], created_at: null }, { own: true });
    item.classList.add(entry.failed === null ? "pending" : "failed");
    item.dataset.clientMsgId = id;
    item.append(el("span", "state", entry.failed === null ? "sending…" : `not sent: ${entry.failed}`));
    if (entry.failed !== null) {
      const button = el("button", "link", "Discard");
      button.type = "button";
      button.addEventListener("click", () => discard(id));
      item.append(button);
    }
    items.push(item);
  }
  return items;
}
