// What the socket tells the page (socket.js's events), into the state and to whoever
// acts on it: the read markers, a truncated replay's gap paged, rooms added and ended,
// the lists kept live (public rooms made or renamed, members joining and leaving), the
// login ended. One listener per socket: its first hello is not a reconnect.

/** page: {auth, state, actions (RoomActions), directory, missed (MissedPages), reads (ReadTracker),
 * panes, navigate(hash, notice)}. What fails of what they ask is kept as their problem (background-notes.js). */
export function socketEvents(page) {
  const { auth, state, actions, directory, missed, reads, panes } = page;
  let connections = 0; // hellos on this socket: after the first, counts are asked again
  return {
    status(connection, detail) {
      if (connection !== "live") state.unsynced();
      state.setConnection(connection, detail);
    },
    hello(user) {
      state.setMe(user);
      connections += 1;
      // Rooms made before this socket was registered are not sent to it: the list is
      // asked again once it is, so a room made between the page's first list and the
      // hello is not missed.
      directory.load();
      if (connections > 1) {
        // Reads and members changed while away are not replayed; nor is a window of
        // missed messages that could not be paged before.
        if (state.currentId !== null) actions.loadMembers(state.currentId);
        panes.threads.refresh();
        missed.retryAll();
      }
    },
    welcome(roomId, room, online) {
      state.welcome(roomId, room, online);
    },
    stream(roomId, frame) {
      state.applyStream(roomId, [frame]);
    },
    synced(roomId, info) {
      state.synced(roomId, info);
      reads.flush(); // reads the room could not take while it was not live
    },
    gap(roomId, afterSeq, beforeSeq) {
      missed.page(roomId, afterSeq, beforeSeq);
    },
    read(roomId, seq, thread) {
      if (thread === null) state.readMoved(roomId, seq);
      else panes.threadRead(roomId, thread, seq);
    },
    acknowledged(roomId, clientMsgId) {
      state.acknowledged(roomId, clientMsgId);
    },
    failed(roomId, clientMsgId, detail) {
      state.failed(roomId, clientMsgId, detail);
    },
    typing(roomId, user) {
      state.typing(roomId, user);
    },
    presence(roomId, event, user) {
      state.presence(roomId, event, user);
    },
    roomAdded(room) {
      actions.follow([room]);
    },
    other(roomId, frame) {
      if (frame.type === "room_created" && frame.room && Number.isInteger(frame.room.id)) state.roomCreated(frame.room);
      else if (frame.type === "room_updated" && frame.room && Number.isInteger(frame.room.id)) state.roomUpdated(frame.room);
      else if (roomId === null) return;
      else if (frame.type === "member_added" && frame.user) state.memberAdded(roomId, frame.user);
      else if (frame.type === "member_removed" && Number.isInteger(frame.user_id)) state.memberRemoved(roomId, frame.user_id);
    },
    roomEnded(roomId, reason) {
      actions.endRoom(roomId, reason);
    },
    ended(reason) {
      // signOut tells the page (Auth's callback), which shows the sign-in view with the reason.
      if (auth.user) auth.signOut(reason);
      else page.navigate("#/login", `Signed out: ${reason}.`);
    },
  };
}
