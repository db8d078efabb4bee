/* OpenSSL engine to engine in C, one thread, memory BIOs: the libssl share of
 * a jsec case with the sockets taken away. bench.ts adds raw TCP's cost to it
 * for the bound a one-thread FFI binding of this libssl cannot beat.
 *
 *   openssl_loop cert.pem key.pem bulk MiB warmMiB [suites]
 *     client SSL_write 16 KiB -> BIO_read -> BIO_write -> server SSL_read (`case.ts --case loop`)
 *   openssl_loop cert.pem key.pem echo count warm size [suites]
 *     `size` bytes client -> server -> client per round trip (`--case echo` without sockets)
 *   openssl_loop cert.pem key.pem resume count warm tls1.2|tls1.3
 *     a new pair per connection offering the last session, one byte each way,
 *     close_notify both ways, freed (`--case resume` without sockets)
 *
 * Prints: RESULT {"value": ..., "unit": "MB/s" | "rt/s" | "hs/s", ...} */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned char buf[64 * 1024 + 512];

static void move(SSL *from, SSL *to) {
  int n;
  while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof buf)) > 0) BIO_write(SSL_get_rbio(to), buf, n);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fail(const char *what) {
  fprintf(stderr, "%s failed\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

/* A connected pair over memory BIOs; the client offers `sess` if not NULL. */
static void pair(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *sess, SSL **c, SSL **s) {
  *s = SSL_new(sctx);
  *c = SSL_new(cctx);
  SSL_set_bio(*s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_bio(*c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_accept_state(*s);
  SSL_set_connect_state(*c);
  if (sess && SSL_set_session(*c, sess) != 1) fail("SSL_set_session");
  for (int i = 0; i < 20; i++) {
    int a = SSL_do_handshake(*c);
    move(*c, *s);
    int b = SSL_do_handshake(*s);
    move(*s, *c);
    if (a == 1 && b == 1) return;
  }
  fail("handshake");
}

/* `n` bytes from one end to the other, read in full. */
static void send_to(SSL *from, SSL *to, const unsigned char *data, unsigned char *into, int n) {
  if (SSL_write(from, data, n) != n) fail("SSL_write");
  move(from, to);
  for (int got = 0; got < n;) {
    int r = SSL_read(to, into + got, n - got);
    if (r <= 0) fail("SSL_read");
    got += r;
  }
}

static double bulk(SSL *c, SSL *s, long long total) {
  static unsigned char chunk[16384], sink[16384];
  memset(chunk, 'a', sizeof chunk);
  long long got = 0;
  double t0 = now();
  for (long long sent = 0; sent < total; sent += sizeof chunk) {
    if (SSL_write(c, chunk, sizeof chunk) != (int)sizeof chunk) fail("SSL_write");
    move(c, s);
    int n;
    while ((n = SSL_read(s, sink, sizeof sink)) > 0) got += n;
  }
  if (got != total) fail("bulk byte count");
  return now() - t0;
}

static double echo(SSL *c, SSL *s, int count, int size) {
  static unsigned char msg[16384], mid[16384], back[16384];
  memset(msg, 'b', sizeof msg);
  double t0 = now();
  for (int i = 0; i < count; i++) {
    send_to(c, s, msg, mid, size);
    send_to(s, c, mid, back, size);
  }
  return now() - t0;
}

/* One connection as `--case resume` makes it; returns whether it resumed. */
static int one_connection(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION **sess) {
  static const unsigned char one[1] = {'c'};
  unsigned char b[16];
  SSL *c, *s;
  pair(cctx, sctx, *sess, &c, &s);
  send_to(c, s, one, b, 1);
  send_to(s, c, b, b + 1, 1); /* the client's read also takes TLS 1.3's tickets */
  int reused = SSL_session_reused(c);
  SSL_SESSION *next = SSL_get1_session(c);
  if (next) {
    SSL_SESSION_free(*sess);
    *sess = next;
  }
  SSL_shutdown(c);
  move(c, s);
  if (SSL_read(s, b, sizeof b) > 0) fail("close_notify");
  SSL_shutdown(s);
  move(s, c);
  if (SSL_shutdown(c) != 1) fail("SSL_shutdown");
  SSL_free(c);
  SSL_free(s);
  return reused;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: see the comment at the top of openssl_loop.c\n");
    return 2;
  }
  const char *mode = argv[3];
  SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_use_certificate_chain_file(sctx, argv[1]) != 1 ||
      SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1)
    fail("loading the certificate");
  long long n = atoll(argv[4]), warm = atoll(argv[5]);

  if (strcmp(mode, "resume") == 0) {
    int v = argc > 6 && strcmp(argv[6], "tls1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(cctx, v);
    SSL_CTX_set_max_proto_version(cctx, v);
    SSL_SESSION *sess = NULL;
    for (long long i = 0; i < warm; i++) one_connection(cctx, sctx, &sess);
    int reused = 0;
    double t0 = now();
    for (long long i = 0; i < n; i++) reused += one_connection(cctx, sctx, &sess);
    double ms = now() - t0;
    printf("RESULT {\"value\": %.1f, \"unit\": \"hs/s\", \"ms\": %.2f, \"lastReused\": %s}\n",
           n / (ms / 1e3), ms, reused == n ? "true" : "false");
    return 0;
  }

  if (argc > (strcmp(mode, "echo") == 0 ? 7 : 6)) {
    SSL_CTX_set_ciphersuites(cctx, argv[strcmp(mode, "echo") == 0 ? 7 : 6]);
  }
  SSL *c, *s;
  pair(cctx, sctx, NULL, &c, &s);
  const char *cipher = SSL_CIPHER_standard_name(SSL_get_current_cipher(c));
  if (strcmp(mode, "bulk") == 0) {
    bulk(c, s, warm << 20);
    double ms = bulk(c, s, n << 20);
    printf("RESULT {\"value\": %.1f, \"unit\": \"MB/s\", \"ms\": %.2f, \"cipher\": \"%s\"}\n",
           (n << 20) / 1e6 / (ms / 1e3), ms, cipher);
  } else if (strcmp(mode, "echo") == 0) {
    int size = argc > 6 ? atoi(argv[6]) : 1024;
    if (size < 1 || size > 16384) fail("size (1..16384)");
    echo(c, s, (int)warm, size);
    double ms = echo(c, s, (int)n, size);
    printf("RESULT {\"value\": %.1f, \"unit\": \"rt/s\", \"ms\": %.2f, \"cipher\": \"%s\"}\n",
           n / (ms / 1e3), ms, cipher);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
