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
    const room = this.state.current;
    const live = room && this.state.connection.state === "live";
    const names = live ? [...room.typists.values()].map((t) => t.username).sort() : [];
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $("typing").textContent = text;
  }
}
