// One message's state from the entries of the room's stream (guarantee 10). Every entry
// that changes a message (an edit, a delete, a reaction, a pin, a reply in its thread or
// the delete of one) is applied only when its seq is above the message's updated_seq,
// which then becomes that seq; a whole message object (a REST page, a replay) replaces
// the one held when its updated_seq is at least as high. Frames carry absolute values
// (a body, a count, a flag), so whatever order pages, replays and live frames arrive in,
// the message ends as it is on the server, nothing counted twice.
// Pure functions on plain objects: no DOM, testable with `node --test`.

/** The seq of the last entry that changed the message (a server too old to say: its own). */
export function updatedSeq(message) {
  return message.updated_seq ?? message.seq;
}

/** A message object as this client keeps it: a copy (entries change it in place), lists never null. */
export function normalized(message) {
  const { type: _type, room: _room, duplicate: _duplicate, ref: _ref, root: _root, ...copy } = message;
  const kept = structuredClone(copy);
  kept.reactions = kept.reactions ?? [];
  kept.mentions = kept.mentions ?? [];
  kept.updated_seq = updatedSeq(kept);
  return kept;
}

/** `incoming` (REST, replay) is to replace `held`: it is at least as new. */
export function replaces(incoming, held) {
  return updatedSeq(incoming) >= updatedSeq(held);
}

/**
 * What a stream frame changes in messages other than a new message itself:
 * [{target, seq, kind, ...values}], one per message it concerns.
 */
export function effectsOf(frame) {
  const { seq } = frame;
  const effects = [];
  switch (frame.type) {
    case "message":
      if (frame.thread_seq != null && frame.root) effects.push(rootEffect(frame.root, seq));
      break;
    case "edit":
      effects.push({
        target: frame.target_seq,
        seq,
        kind: "edit",
        body: frame.body ?? null,
        edited_at: frame.edited_at ?? null,
        mentions: frame.mentions,
        mentions_room: frame.mentions_room,
      });
      break;
    case "delete":
      effects.push({ target: frame.target_seq, seq, kind: "delete" });
      if (frame.root) effects.push(rootEffect(frame.root, seq));
      break;
    case "reaction":
      effects.push({
        target: frame.target_seq,
        seq,
        kind: "reaction",
        emoji: frame.emoji,
        op: frame.op,
        user_id: frame.user ? frame.user.id : null,
        count: frame.count,
      });
      break;
    case "pin":
      effects.push({ target: frame.target_seq, seq, kind: "pin", op: frame.op });
      break;
    default:
      break;
  }
  return effects;
}

function rootEffect(root, seq) {
  return { target: root.seq, seq, kind: "root", reply_count: root.reply_count, last_reply_at: root.last_reply_at };
}

/** Apply one effect to the message it concerns; true when it changed it (its seq was newer). */
export function applyEffect(message, effect) {
  if (effect.seq <= updatedSeq(message)) return false;
  message.updated_seq = effect.seq;
  switch (effect.kind) {
    case "edit":
      message.body = effect.body;
      message.edited_at = effect.edited_at;
      if (effect.mentions !== undefined) message.mentions = effect.mentions ?? [];
      if (effect.mentions_room !== undefined) message.mentions_room = Boolean(effect.mentions_room);
      break;
    case "delete":
      Object.assign(message, { deleted: true, body: null, reactions: [], pinned: false, mentions: [] });
      message.mentions_room = false;
      message.files = [];
      break;
    case "root":
      message.reply_count = effect.reply_count;
      message.last_reply_at = effect.last_reply_at;
      break;
    case "reaction":
      react(message, effect);
      break;
    case "pin":
      message.pinned = effect.op === "add";
      break;
    default:
      break;
  }
  return true;
}

const MAX_USER_IDS = 100; // the server lists the first 100 who reacted with an emoji

/** The count is set; the user list gains or loses the one user the entry names. */
function react(message, effect) {
  const reactions = message.reactions ?? [];
  let entry = reactions.find((r) => r.emoji === effect.emoji);
  if (!entry && effect.count > 0) {
    entry = { emoji: effect.emoji, count: 0, user_ids: [] };
    reactions.push(entry);
  }
  if (entry) {
    entry.count = effect.count;
    const ids = entry.user_ids ?? [];
    const at = ids.indexOf(effect.user_id);
    if (effect.op === "add" && at < 0 && ids.length < MAX_USER_IDS && effect.user_id !== null) ids.push(effect.user_id);
    if (effect.op === "remove" && at >= 0) ids.splice(at, 1);
    entry.user_ids = ids;
  }
  message.reactions = reactions.filter((r) => r.count > 0);
}
