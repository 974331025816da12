// Pings find a dead connection that never closes (a laptop waking up, a dropped NAT
// entry): a ping every 25 s, and a connection that answers nothing within 10 s is silent.

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;

export class Heartbeat {
  /** ping(): send one; silent(): nothing was heard in time after it. */
  constructor(ping, silent) {
    this.ping = ping;
    this.silent = silent;
    this.pingTimer = 0;
    this.pongTimer = 0;
  }

  start() {
    this.stop();
    this.pingTimer = setInterval(() => {
      this.ping();
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.silent(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  stop() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  /** Anything from the server: the connection is alive. */
  heard() {
    clearTimeout(this.pongTimer);
  }
}
