/* The broadcast generator's listening clients (loadgen.py --client native).

One epoll loop over many WebSocket clients that only listen and count, so the
generator costs far less per delivery than any server it measures: a read takes
whatever frames the socket holds, and a message frame is read by its head.

stdin, one command per line:
  (argv: HOST PORT PAUSE_US)
  C <start_seq> <synced 0|1> <path>   a client of the room at <path>; with synced,
                                      it is ready at the service's "synced" frame
  C 0 2 <path> <room>                 a Socket.IO client (Engine.IO 4): it connects to
                                      "/", joins <room> (acknowledged), then counts
                                      "message" events and answers the server's pings
  GO                                  connect them all; answers "READY <ok> <failed>"
  Q                                   answers "D <delivered> <last_delivery_ns>"
  END                                 close every client, then write the results:
    "RESULT <clients> <latencies> <other_frames>\n", per client (in C order)
    "<last_seq> <seq_errors> <close_code> <counts>\n" and <counts> bytes (how often
    message n arrived, capped at 255), then <latencies> int64 nanoseconds.

After each round of reads the loop pauses PAUSE_US, so that a read takes several
frames: a read per frame costs more in the kernel than the servers spend per frame.
Latencies include up to that pause.

A message body is "<sender>:<n>:<t_ns>:..." (loadgen.py); t_ns is CLOCK_MONOTONIC,
Python's perf_counter_ns on Linux. Server frames are unmasked; ours are masked with
a zero key, which the protocol allows. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTING_MAX 64 /* handshakes in flight, as loadgen's CONNECT_CONCURRENCY */
#define READ_CHUNK 65536
#define FRAME_MAX (1 << 22)
#define STDIN_TAG UINT32_MAX

enum state { IDLE, UPGRADING, SYNCING, LIVE, DONE };

typedef struct {
    int fd;
    enum state state;
    int synced_wait; /* 1: the service's synced frame; 2: Socket.IO's join acknowledged */
    char *path;
    char *room;
    uint8_t *buf;
    size_t len, cap;
    int64_t last_seq;
    int64_t seq_errors;
    int close_code;
    uint8_t *counts;
    size_t counts_len;
} client;

static client *clients;
static size_t n_clients, cap_clients, next_to_connect, connecting, ready_ok, ready_failed;
static int go_sent, ending, epfd;
static int port;
static long pause_us;
static struct in_addr host;
static int64_t delivered, last_delivery, other_frames;
static int64_t *lat;
static size_t n_lat, cap_lat;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) {
        perror("realloc");
        exit(2);
    }
    return q;
}

static void write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct timespec pause = {0, 100000};
            nanosleep(&pause, NULL); /* our own frames are tiny; only stdout may wait */
            continue;
        }
        if (w < 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/* A masked client frame with a zero key: the payload goes as it is. */
static void send_frame(client *c, int opcode, const uint8_t *payload, size_t n) {
    uint8_t head[8 + 125] = {(uint8_t)(0x80 | opcode), (uint8_t)(0x80 | n), 0, 0, 0, 0};
    if (n > 125) return;
    memcpy(head + 6, payload, n);
    write_all(c->fd, head, 6 + n);
}

static void finish(client *c, int code) {
    if (c->state == DONE) return;
    if (c->state == UPGRADING || c->state == SYNCING) {
        connecting--;
        ready_failed++;
    }
    if (c->close_code == 0) c->close_code = code;
    c->state = DONE;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void became_ready(client *c) {
    c->state = LIVE;
    connecting--;
    ready_ok++;
}

static int64_t parse_int(const char *p, const char *end, const char **after) {
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    if (after) *after = p;
    return v;
}

static void count_message(client *c, const char *text, size_t n, int64_t t) {
    static const char body_key[] = "\"body\":\"", seq_key[] = "\"seq\":";
    const char *end = text + n;
    const char *body = memmem(text, n, body_key, sizeof body_key - 1);
    if (!body) {
        other_frames++;
        return;
    }
    const char *seq = memmem(text, (size_t)(body - text), seq_key, sizeof seq_key - 1);
    const char *p = body + sizeof body_key - 1, *q;
    parse_int(p, end, &q); /* sender: each client hears one room, one sender */
    if (q >= end || *q != ':') return;
    int64_t msg_n = parse_int(q + 1, end, &q);
    if (q >= end || *q != ':') return;
    int64_t sent_at = parse_int(q + 1, end, NULL);
    if ((size_t)msg_n >= c->counts_len) {
        size_t grown = (size_t)msg_n + 1024;
        c->counts = xrealloc(c->counts, grown);
        memset(c->counts + c->counts_len, 0, grown - c->counts_len);
        c->counts_len = grown;
    }
    if (c->counts[msg_n] < 255) c->counts[msg_n]++;
    if (n_lat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 1 << 20;
        lat = xrealloc(lat, cap_lat * sizeof *lat);
    }
    lat[n_lat++] = t - sent_at;
    delivered++;
    last_delivery = t;
    if (seq) {
        int64_t s = parse_int(seq + sizeof seq_key - 1, end, NULL);
        if (s != c->last_seq + 1) c->seq_errors++;
        c->last_seq = s;
    }
}

static int starts(const uint8_t *payload, size_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return n >= k && memcmp(payload, prefix, k) == 0;
}

/* Engine.IO 4 / Socket.IO 5 packets: 0 open, 2 ping (3 pong), 40 connected, 42 event, 43 ack. */
static void on_socketio(client *c, const uint8_t *payload, size_t n, int64_t t) {
    if (n == 1 && payload[0] == '2') {
        send_frame(c, 1, (const uint8_t *)"3", 1);
    } else if (starts(payload, n, "42[\"message\",")) {
        count_message(c, (const char *)payload, n, t);
    } else if (c->state == SYNCING && starts(payload, n, "0{")) {
        send_frame(c, 1, (const uint8_t *)"40", 2);
    } else if (c->state == SYNCING && starts(payload, n, "40")) {
        char join[125];
        int k = snprintf(join, sizeof join, "421[\"join\",\"%s\"]", c->room);
        if (k > 0 && (size_t)k < sizeof join) send_frame(c, 1, (const uint8_t *)join, (size_t)k);
    } else if (c->state == SYNCING && starts(payload, n, "431")) {
        became_ready(c);
    } else if (c->state == LIVE) {
        other_frames++;
    }
}

static void on_text(client *c, const uint8_t *payload, size_t n, int64_t t) {
    static const char synced[] = "\"type\":\"synced\"";
    if (c->synced_wait == 2) {
        on_socketio(c, payload, n, t);
        return;
    }
    if (starts(payload, n, "{\"type\":\"message\",")) {
        count_message(c, (const char *)payload, n, t);
    } else if (c->state == SYNCING && memmem(payload, n, synced, sizeof synced - 1)) {
        became_ready(c);
    } else if (c->state == LIVE && !starts(payload, n, "{\"type\":\"presence\"") &&
               !starts(payload, n, "{\"type\":\"typing\"")) {
        other_frames++; /* presence and typing are not part of what is measured */
    }
}

/* Every whole frame in the buffer; returns 0 once the client is done. */
static int on_frames(client *c) {
    size_t at = 0;
    int64_t t = now_ns();
    while (c->len - at >= 2) {
        const uint8_t *h = c->buf + at;
        int opcode = h[0] & 0x0f;
        uint64_t n = h[1] & 0x7f;
        size_t head = 2;
        if (n == 126) {
            if (c->len - at < 4) break;
            n = (uint64_t)h[2] << 8 | h[3];
            head = 4;
        } else if (n == 127) {
            if (c->len - at < 10) break;
            n = 0;
            for (int i = 2; i < 10; i++) n = n << 8 | h[i];
            head = 10;
        }
        if (n > FRAME_MAX) {
            finish(c, 1009);
            return 0;
        }
        if (c->len - at < head + n) {
            if (head + n > c->cap) {
                c->cap = head + n;
                c->buf = xrealloc(c->buf, c->cap);
            }
            break;
        }
        const uint8_t *payload = h + head;
        if (opcode == 1) {
            on_text(c, payload, n, t);
        } else if (opcode == 9) {
            send_frame(c, 10, payload, n);
        } else if (opcode == 8) {
            int code = n >= 2 ? payload[0] << 8 | payload[1] : 1005;
            if (!ending) c->close_code = code;
            if (!ending) send_frame(c, 8, payload, n >= 2 ? 2 : 0);
            finish(c, code);
            return 0;
        }
        at += head + n;
    }
    memmove(c->buf, c->buf + at, c->len - at);
    c->len -= at;
    return 1;
}

static void on_upgrade(client *c) {
    uint8_t *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) return;
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "wsrecv: %s refused: %.40s\n", c->path, (char *)c->buf);
        finish(c, 1002);
        return;
    }
    size_t head = (size_t)(end - c->buf) + 4;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    if (c->synced_wait)
        c->state = SYNCING;
    else
        became_ready(c);
}

static void on_readable(client *c) {
    for (;;) {
        if (c->cap - c->len < READ_CHUNK / 4) {
            c->cap = c->cap * 2;
            c->buf = xrealloc(c->buf, c->cap);
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return;
        if (r <= 0) {
            finish(c, 1006);
            return;
        }
        c->len += (size_t)r;
        /* Delayed ACKs: otherwise a read that empties the socket sends an ACK at
           once, and sending it (and the peer's processing of it, which loopback
           runs here) costs more than the read. The kernel leaves this mode when a
           delayed ACK fires, so it is asked again after each read. */
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){0}, sizeof(int));
        if (c->state == UPGRADING) on_upgrade(c);
        if (c->state == DONE) return;
        if (c->state == SYNCING || c->state == LIVE)
            if (!on_frames(c)) return;
        if ((size_t)r < READ_CHUNK / 4) return; /* drained, most likely: let epoll say */
    }
}

static void start_connect(client *c) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = host};
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Blocking connect and request on loopback, then non-blocking reads. */
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("wsrecv: connect");
        c->state = UPGRADING;
        connecting++;
        finish(c, 1006);
        return;
    }
    char request[4096];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     c->path, port);
    write_all(c->fd, request, (size_t)n);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->state = UPGRADING;
    connecting++;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(c - clients)};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void connect_more(void) {
    while (go_sent && connecting < CONNECTING_MAX && next_to_connect < n_clients) start_connect(&clients[next_to_connect++]);
    if (go_sent == 1 && next_to_connect == n_clients && connecting == 0) {
        go_sent = 2;
        char line[64];
        int n = snprintf(line, sizeof line, "READY %zu %zu\n", ready_ok, ready_failed);
        write_all(1, line, (size_t)n);
    }
}

static void end_all(void) {
    ending = 1;
    static const uint8_t normal[2] = {0x03, 0xe8};
    for (size_t i = 0; i < n_clients; i++)
        if (clients[i].state == LIVE) send_frame(&clients[i], 8, normal, 2);
    /* The servers answer the close; wait up to 2 s for them, as loadgen does. */
    int64_t deadline = now_ns() + 2000000000LL;
    struct epoll_event events[256];
    for (;;) {
        size_t open = 0;
        for (size_t i = 0; i < n_clients; i++) open += clients[i].state != DONE;
        if (!open || now_ns() > deadline) break;
        int k = epoll_wait(epfd, events, 256, 50);
        for (int e = 0; e < k; e++)
            if (events[e].data.u32 != STDIN_TAG) on_readable(&clients[events[e].data.u32]);
    }
    for (size_t i = 0; i < n_clients; i++)
        if (clients[i].state != DONE) finish(&clients[i], 1000);
    char line[128];
    int n = snprintf(line, sizeof line, "RESULT %zu %zu %lld\n", n_clients, n_lat, (long long)other_frames);
    write_all(1, line, (size_t)n);
    for (size_t i = 0; i < n_clients; i++) {
        client *c = &clients[i];
        n = snprintf(line, sizeof line, "%lld %lld %d %zu\n", (long long)c->last_seq, (long long)c->seq_errors,
                     c->close_code, c->counts_len);
        write_all(1, line, (size_t)n);
        write_all(1, c->counts, c->counts_len);
    }
    write_all(1, lat, n_lat * sizeof *lat);
    exit(0);
}

static void on_command(char *line) {
    if (line[0] == 'C' && line[1] == ' ') {
        long long start;
        int synced, used = 0;
        if (sscanf(line + 2, "%lld %d %n", &start, &synced, &used) < 2 || !used) return;
        if (n_clients == cap_clients) {
            cap_clients = cap_clients ? cap_clients * 2 : 256;
            clients = xrealloc(clients, cap_clients * sizeof *clients);
        }
        client *c = &clients[n_clients++];
        memset(c, 0, sizeof *c);
        c->path = strdup(line + 2 + used);
        char *space = synced == 2 ? strrchr(c->path, ' ') : NULL;
        if (space) {
            *space = 0;
            c->room = space + 1;
        }
        c->last_seq = start;
        c->synced_wait = synced;
        c->cap = READ_CHUNK;
        c->buf = xrealloc(NULL, c->cap);
    } else if (strcmp(line, "GO") == 0) {
        go_sent = 1;
        connect_more();
    } else if (strcmp(line, "Q") == 0) {
        char out[64];
        int n = snprintf(out, sizeof out, "D %lld %lld\n", (long long)delivered, (long long)last_delivery);
        write_all(1, out, (size_t)n);
    } else if (strcmp(line, "END") == 0) {
        end_all();
    }
}

static void on_stdin(void) {
    static char in[1 << 16];
    static size_t in_len;
    ssize_t r = read(0, in + in_len, sizeof in - in_len - 1);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        end_all(); /* loadgen went away */
    }
    in_len += (size_t)r;
    char *start = in, *nl;
    while ((nl = memchr(start, '\n', in_len - (size_t)(start - in)))) {
        *nl = 0;
        on_command(start);
        start = nl + 1;
    }
    in_len -= (size_t)(start - in);
    memmove(in, start, in_len);
}

int main(int argc, char **argv) {
    if (argc != 4 || !inet_aton(argv[1], &host)) {
        fprintf(stderr, "usage: wsrecv HOST PORT PAUSE_US\n");
        return 2;
    }
    port = atoi(argv[2]);
    pause_us = atol(argv[3]);
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    epfd = epoll_create1(0);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
    struct epoll_event events[256];
    for (;;) {
        int k = epoll_wait(epfd, events, 256, -1);
        if (k < 0 && errno == EINTR) continue;
        for (int e = 0; e < k; e++) {
            if (events[e].data.u32 == STDIN_TAG)
                on_stdin();
            else
                on_readable(&clients[events[e].data.u32]);
        }
        connect_more();
        if (pause_us && k > 0) {
            struct timespec pause = {0, pause_us * 1000};
            nanosleep(&pause, NULL);
        }
    }
}
