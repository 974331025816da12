// Avatars: the user's initials on a colour derived from their id, the same on every screen.
// The colours are classes of style.css (the page's policy allows no inline style).

import { el } from "./dom.js";

export const AVATAR_COLOURS = 12;

/** Up to two letters: the first two of a name, or the first of its first two words. */
export function initials(name) {
  const words = String(name ?? "")
    .split(/[\s._-]+/u)
    .filter(Boolean);
  if (!words.length) return "?";
  const letters = words.length > 1 ? [[...words[0]][0], [...words[1]][0]] : [...words[0]].slice(0, 2);
  return letters.join("").toUpperCase();
}

/** Which of the palette's colours is the user's (0 … AVATAR_COLOURS - 1). */
export function colourOf(userId) {
  // Knuth's multiplicative hash keeps neighbouring ids apart.
  const hash = Math.imul(Number(userId) >>> 0, 2654435761) >>> 0;
  return (hash >>> 8) % AVATAR_COLOURS;
}

/** The user's avatar; decoration only (their name follows it). */
export function avatar(user) {
  const node = el("span", `avatar avatar-${colourOf(user.id)}`, initials(user.username));
  node.setAttribute("aria-hidden", "true");
  return node;
}
