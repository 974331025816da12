// Where the requests the page makes by itself say they failed (failure-note.js): the
// sidebar's rooms (their lists, and unread counts asked again), its threads, and the open
// room's messages a reconnect's replay skipped.

import { $ } from "./dom.js";
import { FailureNote } from "./failure-note.js";

/** directory: Directory, threads: ThreadList, missed: MissedPages (each {problem, onChange}) */
export function backgroundNotes(state, { directory, threads, missed }) {
  const firstIn = (id, other) => () => $(id).querySelector("button") ?? $(other);
  const rooms = new FailureNote($("rooms-problem"), () => directory.retry(), firstIn("room-list", "rooms-refresh"));
  directory.onChange(() => rooms.render(directory.problem));
  const list = new FailureNote($("threads-problem"), () => threads.load(), firstIn("thread-list", "rooms-refresh"));
  threads.onChange(() => list.render(threads.problem));
  const room = new FailureNote($("missed-problem"), () => missed.retry(state.currentId), () => $("message-input"));
  const here = () => room.render(state.currentId === null ? "" : missed.problem(state.currentId));
  missed.onChange(here);
  state.onChange((what) => what === "current" && here());
}
