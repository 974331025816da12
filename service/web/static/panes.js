// The panes beside the open room, a thread or the room's pinned messages (one at a time,
// in the People panel's place), and the sidebar's list of the user's threads: their views
// wired to their REST calls (message-actions.js) and to the socket (replies, thread reads).

import { Announcer } from "./announcer.js";
import { MessageActions } from "./message-actions.js";
import { PinsView } from "./pins-view.js";
import { ThreadList } from "./thread-list.js";
import { ThreadView } from "./thread-view.js";
import { ThreadsView } from "./threads-view.js";

export class Panes {
  /** page: {socket() → ChatSocket | null, actions: RoomActions, picker: ReactionPicker,
   * show(roomId) → the room is open (navigated to and shown), reveal(message): a message in its room} */
  constructor(auth, state, page) {
    this.state = state;
    this.page = page;
    this.messages = new MessageActions(auth, state);
    this.threads = new ThreadList(auth, state);
    const room = () => state.currentId;
    const messages = this.messages;
    this.thread = new ThreadView(
      state,
      {
        load: (roomId, root) => messages.loadThread(roomId, root),
        reply: (roomId, root, body) => this.#reply(roomId, root, body),
        discard: (id) => {
          page.socket()?.discard(id);
          state.discard(room(), id);
        },
        read: (roomId, root, seq) => this.#readThread(roomId, root, seq),
        closed: () => {},
        edit: (seq, body) => page.actions.edit(seq, body),
        remove: (seq) => page.actions.remove(seq),
        react: (seq, emoji, add) => messages.react(room(), seq, emoji, add),
        pin: (seq, on) => messages.pin(room(), seq, on),
      },
      page.picker,
    );
    this.pins = new PinsView(state, {
      load: (roomId) => messages.loadPins(roomId),
      pin: (seq, on) => messages.pin(room(), seq, on),
      show: (message) => this.#show(message),
      opened: () => this.thread.close(),
      closed: () => {},
    });
    new ThreadsView(state, this.threads, { open: (roomId, root) => this.openThread(roomId, root) });
    new Announcer(state, () => (this.thread.isOpen ? { roomId: this.thread.roomId, root: this.thread.root } : null));
  }

  /** The room's own intents for reactions, pins and threads (RoomView's). */
  get roomIntents() {
    const room = () => this.state.currentId;
    return {
      react: (seq, emoji, add) => this.messages.react(room(), seq, emoji, add),
      pin: (seq, on) => this.messages.pin(room(), seq, on),
      openThread: (seq) => this.openThread(room(), seq),
    };
  }

  /** The thread of `root` beside its room (opened first if need be). */
  async openThread(roomId, root) {
    if (!(await this.page.show(roomId))) return;
    this.pins.close();
    await this.thread.open(roomId, root);
  }

  /** Signed in: the user's threads are listed. */
  start() {
    this.threads.load();
  }

  stop() {
    this.thread.close();
    this.pins.close();
    this.threads.stop();
  }

  /** The socket said the user's marker moved in a thread (this device or another). */
  threadRead(roomId, root, seq) {
    this.threads.read(roomId, root, seq);
  }

  #reply(roomId, root, body) {
    const socket = this.page.socket();
    if (!socket) return;
    const id = socket.send(roomId, body, root);
    this.state.addPending(roomId, id, body, root);
  }

  #readThread(roomId, root, seq) {
    const socket = this.page.socket();
    if (!socket || !socket.read(roomId, seq, root)) return false;
    this.threads.read(roomId, root, seq);
    return true;
  }

  /** A pinned message where it is: its thread, or the log. */
  #show(message) {
    if (message.thread_seq != null) return this.openThread(message.room_id, message.thread_seq);
    this.pins.close();
    return this.page.reveal(message);
  }
}
