// What a room is called here: a direct conversation (kind "direct") is named after both
// of its users ("alice, bob", ordered by the server), and shown as the other one.

export function isDirect(room) {
  return Boolean(room) && room.kind === "direct";
}

/** The name to show for `room` to `me` ({username} or null). */
export function roomLabel(room, me) {
  if (!isDirect(room) || !me) return room.name;
  const mine = me.username.toLowerCase();
  // Usernames never hold ", ": the two are the name's two parts.
  const others = room.name.split(", ").filter((name) => name.toLowerCase() !== mine);
  return others.length === 1 ? others[0] : room.name;
}
