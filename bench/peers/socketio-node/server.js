// Socket.IO on Node.js: a room broadcast server for the chat service's bench
// (bench/README.md, "Real peers"). A client emits "join" with a room name
// (acknowledged), then every "message" event it emits is emitted to everyone in
// its room, the sender too. Plain WebSocket transport, no per-message deflate,
// /healthz answers 200, and the process exits after --max-seconds whatever happens.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}

const port = option("--port", 0);
const maxSeconds = option("--max-seconds", 3600);

const httpServer = http.createServer((req, res) => {
  // socket.io answers /socket.io/ itself; everything else comes here.
  const ok = req.url === "/healthz";
  res.writeHead(ok ? 200 : 404, { "content-type": "text/plain" });
  res.end(ok ? "ok\n" : "");
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 1e6,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    socket.data.room = room;
    if (typeof ack === "function") ack("ok");
  });
  socket.on("message", (data) => {
    const room = socket.data.room;
    if (room !== undefined) io.to(room).emit("message", data);
  });
});

httpServer.listen(port, "127.0.0.1");
setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
process.on("SIGTERM", () => process.exit(0));
