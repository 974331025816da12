// Who is typing in the open room, under its log, while the socket is live.

import { $ } from "./dom.js";

export class TypingView {
  constructor(state) {
    this.state = state;
    state.onChange((what, roomId) => {
      if (what === "current" || what === "connection" || (what === "typing" && roomId === state.currentId)) {
        this.render();
      }
    });
  }

  render() {
    const names = this.state.typingNames();
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $("typing").textContent = text;
  }
}
