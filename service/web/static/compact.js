// Compact mode: denser messages (no avatars, less space), chosen with a toggle and kept in
// this browser's localStorage. Loaded on its own by index.html, so the choice applies
// before the first message is drawn; it only sets a class on <html> (style.css does the rest).

const KEY = "chat.compact";

function stored() {
  try {
    return localStorage.getItem(KEY) === "1";
  } catch {
    return false; // storage refused: the default layout
  }
}

function apply(on) {
  document.documentElement.classList.toggle("compact", on);
  const toggle = document.getElementById("compact-toggle");
  if (toggle) toggle.setAttribute("aria-pressed", String(on));
}

function choose(on) {
  try {
    if (on) localStorage.setItem(KEY, "1");
    else localStorage.removeItem(KEY);
  } catch {
    // kept for this page only
  }
  apply(on);
}

apply(stored());
document.getElementById("compact-toggle")?.addEventListener("click", () => {
  choose(!document.documentElement.classList.contains("compact"));
});
// Another tab of this browser changed it.
window.addEventListener("storage", (event) => {
  if (event.key === KEY || event.key === null) apply(stored());
});
