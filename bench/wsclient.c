// A small, fast WebSocket client for com.atproto.label.subscribeLabels, for the server benchmarks
// (bench/README.md). Plain C, no dependencies: `cc -O2 -o wsclient wsclient.c`.
//
//   wsclient backfill HOST PORT CURSOR LAST_SEQ
//       One connection with ?cursor=CURSOR; reads until it has the frame with seq LAST_SEQ.
//       Every frame's DAG-CBOR header and body are walked (t, op, seq, number of labels), seqs
//       must increase strictly; the last few frames are decoded down to each label's fields.
//       Prints one JSON line: frames, labels, bytes, wall seconds, labels/s, client CPU.
//
//   wsclient live HOST PORT N BASE_SEQ COUNT OUT.bin TIMEOUT_S
//       N connections without a cursor (live only). Prints "ready" on stdout once all N are
//       upgraded, then records, for each connection and each seq in [BASE_SEQ, BASE_SEQ+COUNT),
//       the CLOCK_MONOTONIC time in µs at which the frame was read (0 = never). Stops when every
//       connection has every seq, on SIGTERM/SIGINT, or TIMEOUT_S after "ready". Writes OUT.bin: a 32-byte header
//       (magic "WSLIVE01", u32 n, u32 count, u64 base_seq, u64 t0 in µs) then count×n u64
//       times, seq-major.
//       Prints one JSON line with frame counts, out-of-range/duplicate/out-of-order counts and
//       client CPU.
//
//   wsclient slow HOST PORT CURSOR BYTES_PER_S SECONDS
//       A slow reader: one connection with ?cursor=CURSOR that reads at most BYTES_PER_S for
//       SECONDS, then closes. For watching what the server holds for a reader that lags.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

static void die(const char *m) {
    fprintf(stderr, "wsclient: %s (%s)\n", m, strerror(errno));
    exit(2);
}

static double cpu_seconds(double *user, double *sys) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

// ---- minimal DAG-CBOR walker -------------------------------------------------------------

typedef struct {
    const uint8_t *p, *end;
    int err;
} cur_t;

// Reads a head: returns major type, sets *arg. Indefinite lengths are not DAG-CBOR: error.
static int head(cur_t *c, uint64_t *arg) {
    if (c->p >= c->end) { c->err = 1; return -1; }
    uint8_t b = *c->p++;
    int major = b >> 5, info = b & 31;
    if (info < 24) { *arg = info; return major; }
    int n = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (!n || c->end - c->p < n) { c->err = 1; return -1; }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | *c->p++;
    *arg = v;
    return major;
}

static void skip(cur_t *c) {
    uint64_t a;
    int m = head(c, &a);
    if (c->err) return;
    switch (m) {
    case 0: case 1: case 7: return;
    case 2: case 3:
        if ((uint64_t)(c->end - c->p) < a) { c->err = 1; return; }
        c->p += a; return;
    case 4: for (uint64_t i = 0; i < a && !c->err; i++) skip(c); return;
    case 5: for (uint64_t i = 0; i < 2 * a && !c->err; i++) skip(c); return;
    case 6: skip(c); return;
    }
}

static int text_is(cur_t *c, const char *s, const uint8_t **tp, uint64_t *tl) {
    uint64_t a;
    int m = head(c, &a);
    if (c->err || m != 3 || (uint64_t)(c->end - c->p) < a) { c->err = 1; return 0; }
    *tp = c->p; *tl = a;
    c->p += a;
    return s && strlen(s) == a && memcmp(*tp, s, a) == 0;
}

typedef struct {
    int ok;
    int64_t op;
    char t[16];
    uint64_t seq;
    uint64_t nlabels;
    const uint8_t *labels; // start of the labels array items
    const uint8_t *end;
} frame_t;

// Walks header {t, op} and body {seq, labels}. Keys may come in any order.
static frame_t parse_frame(const uint8_t *p, size_t n) {
    frame_t f = {0};
    f.op = -99;
    cur_t c = {p, p + n, 0};
    uint64_t a, pairs;
    const uint8_t *kp = NULL; uint64_t kl = 0;
    if (head(&c, &pairs) != 5) return f;
    for (uint64_t i = 0; i < pairs && !c.err; i++) {
        text_is(&c, NULL, &kp, &kl);
        if (kl == 1 && kp[0] == 't') {
            const uint8_t *vp; uint64_t vl;
            text_is(&c, NULL, &vp, &vl);
            if (!c.err && vl < sizeof f.t) { memcpy(f.t, vp, vl); f.t[vl] = 0; }
        } else if (kl == 2 && memcmp(kp, "op", 2) == 0) {
            int m = head(&c, &a);
            f.op = m == 0 ? (int64_t)a : m == 1 ? -1 - (int64_t)a : -99;
        } else skip(&c);
    }
    if (c.err || head(&c, &pairs) != 5) return f;
    int have_seq = 0, have_labels = 0;
    for (uint64_t i = 0; i < pairs && !c.err; i++) {
        text_is(&c, NULL, &kp, &kl);
        if (kl == 3 && memcmp(kp, "seq", 3) == 0) {
            if (head(&c, &f.seq) != 0) c.err = 1;
            have_seq = 1;
        } else if (kl == 6 && memcmp(kp, "labels", 6) == 0) {
            if (head(&c, &f.nlabels) != 4) { c.err = 1; break; }
            f.labels = c.p;
            for (uint64_t j = 0; j < f.nlabels && !c.err; j++) skip(&c);
            have_labels = 1;
        } else skip(&c);
    }
    f.end = c.p;
    f.ok = !c.err && have_seq && have_labels && c.p == c.end;
    return f;
}

// Prints one label map's fields (text values as is, bytes as their length) to stderr.
static void describe_labels(const frame_t *f, const uint8_t *end) {
    cur_t c = {f->labels, end, 0};
    for (uint64_t j = 0; j < f->nlabels && !c.err; j++) {
        uint64_t pairs, a;
        if (head(&c, &pairs) != 5) return;
        fprintf(stderr, "    label {");
        for (uint64_t i = 0; i < pairs && !c.err; i++) {
            const uint8_t *kp = NULL; uint64_t kl = 0;
            text_is(&c, NULL, &kp, &kl);
            fprintf(stderr, "%s%.*s: ", i ? ", " : "", (int)kl, kp);
            const uint8_t *save = c.p;
            int m = head(&c, &a);
            if (m == 3) { fprintf(stderr, "\"%.*s\"", (int)a, c.p); c.p += a; }
            else if (m == 2) { fprintf(stderr, "<%llu bytes>", (unsigned long long)a); c.p += a; }
            else if (m == 0) fprintf(stderr, "%llu", (unsigned long long)a);
            else if (m == 7) fprintf(stderr, "%s", a == 20 ? "false" : a == 21 ? "true" : "simple");
            else { c.p = save; skip(&c); fprintf(stderr, "…"); }
        }
        fprintf(stderr, "}\n");
    }
}

// ---- connection ------------------------------------------------------------------------

static int connect_ws(const char *host, int port, const char *path, uint8_t *buf, size_t cap, size_t *leftover) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("host must be an IPv4 address");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    if (write(fd, req, n) != n) die("write handshake");
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r <= 0) die("read handshake");
        got += r;
        uint8_t *e = memmem(buf, got, "\r\n\r\n", 4);
        if (e) {
            if (got < 12 || memcmp(buf + 9, "101", 3) != 0) {
                fprintf(stderr, "wsclient: upgrade refused: %.*s\n", (int)got, buf);
                exit(2);
            }
            size_t hl = (e - buf) + 4;
            memmove(buf, buf + hl, got - hl);
            *leftover = got - hl;
            return fd;
        }
        if (got == cap) die("handshake too long");
    }
}

// Parses one complete frame at buf[0..n): returns its total length (0 if incomplete), payload.
static size_t ws_frame(const uint8_t *buf, size_t n, int *opcode, const uint8_t **payload, size_t *plen) {
    if (n < 2) return 0;
    *opcode = buf[0] & 15;
    int masked = buf[1] >> 7;
    uint64_t len = buf[1] & 127;
    size_t h = 2;
    if (len == 126) {
        if (n < 4) return 0;
        len = ((uint64_t)buf[2] << 8) | buf[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | buf[2 + i];
        h = 10;
    }
    if (masked) h += 4;  // servers must not mask; tolerated, not unmasked (not expected)
    if (n < h + len) return 0;
    *payload = buf + h;
    *plen = len;
    return h + len;
}

static void send_pong(int fd, const uint8_t *p, size_t n) {
    uint8_t f[2 + 4 + 125];
    if (n > 125) n = 125;
    f[0] = 0x8A; f[1] = 0x80 | (uint8_t)n;
    memset(f + 2, 0, 4);  // zero mask: payload unchanged
    memcpy(f + 6, p, n);
    (void)!write(fd, f, 6 + n);
}

// ---- backfill ----------------------------------------------------------------------------

static int backfill(const char *host, int port, uint64_t cursor, uint64_t last_seq) {
    size_t cap = 4 << 20;
    uint8_t *buf = malloc(cap);
    char path[256];
    snprintf(path, sizeof path, "/xrpc/com.atproto.label.subscribeLabels?cursor=%llu", (unsigned long long)cursor);
    double u0, s0, u1, s1;
    cpu_seconds(&u0, &s0);
    uint64_t t0 = now_us(), t_first = 0;
    size_t have = 0;
    int fd = connect_ws(host, port, path, buf, cap, &have);
    uint64_t frames = 0, labels = 0, bytes = 0, prev = cursor, bad = 0, nonmono = 0, first_seq = 0, seq = 0;
    // Keep the last few frames to decode fully at the end.
    enum { KEEP = 3 };
    uint8_t *keep[KEEP]; size_t keep_len[KEEP];
    for (int i = 0; i < KEEP; i++) { keep[i] = malloc(65536); keep_len[i] = 0; }
    int done = 0;
    while (!done) {
        size_t off = 0;
        for (;;) {
            int op; const uint8_t *pl; size_t plen;
            size_t fl = ws_frame(buf + off, have - off, &op, &pl, &plen);
            if (!fl) break;
            off += fl;
            if (op == 9) { send_pong(fd, pl, plen); continue; }
            if (op == 8) { fprintf(stderr, "wsclient: server closed the stream after %llu frames\n", (unsigned long long)frames); done = 2; break; }
            if (op != 2) { bad++; continue; }
            frame_t f = parse_frame(pl, plen);
            if (!f.ok || f.op != 1 || strcmp(f.t, "#labels") != 0) {
                if (bad++ < 3) fprintf(stderr, "wsclient: unexpected frame (op %lld t %s ok %d)\n", (long long)f.op, f.t, f.ok);
                continue;
            }
            if (!frames) { first_seq = f.seq; t_first = now_us(); }
            frames++;
            labels += f.nlabels;
            bytes += plen;
            if (f.seq <= prev) nonmono++;
            prev = seq = f.seq;
            int k = frames % KEEP;
            if (plen <= 65536) { memcpy(keep[k], pl, plen); keep_len[k] = plen; }
            if (f.seq >= last_seq) { done = 1; break; }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        if (done) break;
        ssize_t r = read(fd, buf + have, cap - have);
        if (r <= 0) { fprintf(stderr, "wsclient: connection ended after %llu frames\n", (unsigned long long)frames); break; }
        have += r;
    }
    uint64_t t1 = now_us();
    cpu_seconds(&u1, &s1);
    close(fd);
    fprintf(stderr, "last frames, fully decoded:\n");
    for (uint64_t i = frames >= KEEP ? frames - KEEP + 1 : 1; i <= frames; i++) {
        int k = i % KEEP;
        frame_t f = parse_frame(keep[k], keep_len[k]);
        fprintf(stderr, "  frame %llu: header {t: %s, op: %lld} body {seq: %llu, labels: %llu}\n", (unsigned long long)i, f.t,
                (long long)f.op, (unsigned long long)f.seq, (unsigned long long)f.nlabels);
        describe_labels(&f, keep[k] + keep_len[k]);
    }
    double wall = (t1 - t0) / 1e6, cpu = (u1 - u0) + (s1 - s0);
    printf("{\"mode\":\"backfill\",\"frames\":%llu,\"labels\":%llu,\"payload_bytes\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,"
           "\"reached_last\":%s,\"non_increasing\":%llu,\"bad_frames\":%llu,\"wall_s\":%.3f,\"first_frame_after_s\":%.3f,"
           "\"labels_per_s\":%.0f,\"client_cpu_user_s\":%.3f,\"client_cpu_sys_s\":%.3f,\"client_cpu_pct_of_one_core\":%.1f}\n",
           (unsigned long long)frames, (unsigned long long)labels, (unsigned long long)bytes, (unsigned long long)first_seq,
           (unsigned long long)seq, done == 1 ? "true" : "false", (unsigned long long)nonmono, (unsigned long long)bad, wall,
           t_first ? (t_first - t0) / 1e6 : -1.0, labels / wall, u1 - u0, s1 - s0, 100 * cpu / wall);
    return done == 1 && !nonmono && !bad ? 0 : 1;
}

// ---- live ------------------------------------------------------------------------------

static volatile sig_atomic_t stop_requested = 0;
static void on_term(int sig) { (void)sig; stop_requested = 1; }

typedef struct {
    int fd;
    uint8_t *buf;
    size_t have;
    uint64_t got;   // in-range frames
    uint64_t prev;  // last seq
    int closed;
} conn_t;

static int live(const char *host, int port, int n, uint64_t base, uint64_t count, const char *out, double timeout) {
    size_t cap = 256 << 10;
    conn_t *cs = calloc(n, sizeof *cs);
    uint64_t *times = calloc(count * n, sizeof(uint64_t));
    if (!cs || !times) die("calloc");
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        cs[i].buf = malloc(cap);
        cs[i].fd = connect_ws(host, port, "/xrpc/com.atproto.label.subscribeLabels", cs[i].buf, cap, &cs[i].have);
        fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    double u0, s0, u1, s1;
    cpu_seconds(&u0, &s0);
    uint64_t t0 = now_us(), deadline = t0 + (uint64_t)(timeout * 1e6), t_last_frame = 0;
    uint64_t complete = 0, out_of_range = 0, dup = 0, nonmono = 0, bad = 0, frames = 0, closed = 0, reads = 0;
    struct epoll_event evs[256];
    while (complete < (uint64_t)n && now_us() < deadline && closed < (uint64_t)n && !stop_requested) {
        int k = epoll_wait(ep, evs, 256, 100);
        if (k < 0 && errno == EINTR) continue;
        for (int e = 0; e < k; e++) {
            conn_t *c = &cs[evs[e].data.u32];
            int ci = evs[e].data.u32;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->have, cap - c->have);
                if (r < 0 && errno == EAGAIN) break;
                if (r <= 0) {
                    if (!c->closed) { c->closed = 1; closed++; epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); }
                    break;
                }
                reads++;
                c->have += r;
                uint64_t t = now_us();
                size_t off = 0;
                for (;;) {
                    int op; const uint8_t *pl; size_t plen;
                    size_t fl = ws_frame(c->buf + off, c->have - off, &op, &pl, &plen);
                    if (!fl) break;
                    off += fl;
                    if (op == 9) { send_pong(c->fd, pl, plen); continue; }
                    if (op == 8) { if (!c->closed) { c->closed = 1; closed++; } continue; }
                    if (op != 2) { bad++; continue; }
                    frame_t f = parse_frame(pl, plen);
                    if (!f.ok || f.op != 1) { bad++; continue; }
                    frames++;
                    t_last_frame = t;
                    if (f.seq <= c->prev) nonmono++;
                    c->prev = f.seq;
                    if (f.seq < base || f.seq >= base + count) { out_of_range++; continue; }
                    uint64_t *slot = &times[(f.seq - base) * n + ci];
                    if (*slot) { dup++; continue; }
                    *slot = t;
                    if (++c->got == count) complete++;
                }
                memmove(c->buf, c->buf + off, c->have - off);
                c->have -= off;
                if (c->have == cap) { fprintf(stderr, "wsclient: frame larger than buffer\n"); exit(2); }
            }
        }
    }
    uint64_t t1 = now_us();
    cpu_seconds(&u1, &s1);
    FILE *f = fopen(out, "wb");
    if (!f) die("open output");
    uint32_t hdr32[2] = {(uint32_t)n, (uint32_t)count};
    fwrite("WSLIVE01", 1, 8, f);
    fwrite(hdr32, 4, 2, f);
    fwrite(&base, 8, 1, f);
    fwrite(&t0, 8, 1, f);
    fwrite(times, sizeof(uint64_t), count * n, f);
    fclose(f);
    double wall = (t1 - t0) / 1e6;
    printf("{\"mode\":\"live\",\"connections\":%d,\"complete_connections\":%llu,\"closed_connections\":%llu,\"frames\":%llu,"
           "\"reads\":%llu,\"out_of_range\":%llu,\"duplicates\":%llu,\"non_increasing\":%llu,\"bad_frames\":%llu,"
           "\"wall_s\":%.3f,\"last_frame_at_s\":%.3f,\"client_cpu_user_s\":%.3f,\"client_cpu_sys_s\":%.3f,"
           "\"client_cpu_pct_of_one_core\":%.1f}\n",
           n, (unsigned long long)complete, (unsigned long long)closed, (unsigned long long)frames, (unsigned long long)reads,
           (unsigned long long)out_of_range, (unsigned long long)dup, (unsigned long long)nonmono, (unsigned long long)bad, wall,
           t_last_frame ? (t_last_frame - t0) / 1e6 : -1.0, u1 - u0, s1 - s0, 100 * ((u1 - u0) + (s1 - s0)) / wall);
    fflush(stdout);
    return 0;
}

// ---- slow reader -----------------------------------------------------------------------

static int slow(const char *host, int port, uint64_t cursor, double rate, double seconds) {
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    char path[256];
    snprintf(path, sizeof path, "/xrpc/com.atproto.label.subscribeLabels?cursor=%llu", (unsigned long long)cursor);
    size_t have = 0;
    int fd = connect_ws(host, port, path, buf, cap, &have);
    uint64_t t0 = now_us(), total = have;
    size_t chunk = rate / 20 > 1 ? (size_t)(rate / 20) : 1;
    if (chunk > cap) chunk = cap;
    while (now_us() - t0 < seconds * 1e6) {
        ssize_t r = read(fd, buf, chunk);
        if (r <= 0) break;
        total += r;
        uint64_t due = t0 + (uint64_t)(total / rate * 1e6);
        uint64_t t = now_us();
        if (due > t) usleep(due - t);
    }
    close(fd);
    printf("{\"mode\":\"slow\",\"bytes_read\":%llu,\"seconds\":%.1f}\n", (unsigned long long)total, (now_us() - t0) / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 7 && strcmp(argv[1], "slow") == 0)
        return slow(argv[2], atoi(argv[3]), strtoull(argv[4], 0, 10), atof(argv[5]), atof(argv[6]));
    if (argc >= 6 && strcmp(argv[1], "backfill") == 0)
        return backfill(argv[2], atoi(argv[3]), strtoull(argv[4], 0, 10), strtoull(argv[5], 0, 10));
    if (argc >= 9 && strcmp(argv[1], "live") == 0)
        return live(argv[2], atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], 0, 10), strtoull(argv[6], 0, 10), argv[7],
                    atof(argv[8]));
    fprintf(stderr, "usage: wsclient backfill HOST PORT CURSOR LAST_SEQ\n"
                    "       wsclient live HOST PORT N BASE_SEQ COUNT OUT.bin TIMEOUT_S\n"
                    "       wsclient slow HOST PORT CURSOR BYTES_PER_S SECONDS\n");
    return 2;
}
