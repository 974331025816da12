// The loading state the views share: a control is busy while its request is out (it says
// what it does, aria-busy, and takes no second click); the error shows where it was asked.

/** `button` is busy: aria-disabled (it keeps the keyboard's focus; its handler ignores it
 * meanwhile), aria-busy, and saying `text` ("Saving…") when given. */
export function markBusy(button, text = "") {
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  if (text) button.textContent = text;
}

/** Whether `button`'s request is still out: its handler ignores it meanwhile. */
export function isBusy(button) {
  return button.getAttribute("aria-busy") === "true";
}

/** `button` busy while `work()` runs (its text meanwhile `text`), as it was after (unless
 * `work` gave it another text, e.g. why it failed); answers what `work` answers. */
export async function whileBusy(button, work, text = "") {
  const before = button.textContent;
  markBusy(button, text);
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
    if (text && button.textContent === text) button.textContent = before;
  }
}
