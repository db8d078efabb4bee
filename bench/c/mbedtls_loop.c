/* mbedTLS 2.28 engine-to-engine loop in C (TLS 1.2), the ceiling for
 * `case.ts --case loop --backend mbedtls`: client mbedtls_ssl_write 16 KiB ->
 * in-memory queue -> server mbedtls_ssl_read, one thread.
 * Usage: mbedtls_loop ca.pem cert.pem key.pem MiB warmMiB [ciphersuite]
 * Prints: RESULT {"value": MB/s, "unit": "MB/s", "cipher": "..."} */
#include <mbedtls/ssl.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char *d; size_t len, cap, off; } q_t;
static q_t c2s, s2c;

static int q_send(void *ctx, const unsigned char *b, size_t n) {
  q_t *q = ctx;
  if (q->off && q->off == q->len) q->off = q->len = 0;
  if (q->len + n > q->cap) {
    if (q->off) { memmove(q->d, q->d + q->off, q->len - q->off); q->len -= q->off; q->off = 0; }
    if (q->len + n > q->cap) { q->cap = (q->len + n) * 2; q->d = realloc(q->d, q->cap); }
  }
  memcpy(q->d + q->len, b, n);
  q->len += n;
  return (int)n;
}
static int q_recv(void *ctx, unsigned char *b, size_t n) {
  q_t *q = ctx;
  size_t avail = q->len - q->off;
  if (!avail) return MBEDTLS_ERR_SSL_WANT_READ;
  if (n > avail) n = avail;
  memcpy(b, q->d + q->off, n);
  q->off += n;
  return (int)n;
}
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  mbedtls_entropy_context ent; mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt ca, crt; mbedtls_pk_context key;
  mbedtls_ssl_config sconf, cconf; mbedtls_ssl_context s, c;
  mbedtls_entropy_init(&ent); mbedtls_ctr_drbg_init(&drbg);
  mbedtls_x509_crt_init(&ca); mbedtls_x509_crt_init(&crt); mbedtls_pk_init(&key);
  mbedtls_ssl_config_init(&sconf); mbedtls_ssl_config_init(&cconf);
  mbedtls_ssl_init(&s); mbedtls_ssl_init(&c);
  if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0)) return 1;
  if (mbedtls_x509_crt_parse_file(&ca, argv[1]) || mbedtls_x509_crt_parse_file(&crt, argv[2]) ||
      mbedtls_pk_parse_keyfile(&key, argv[3], NULL)) { fprintf(stderr, "cert/key\n"); return 1; }
  static int suites[2];
  mbedtls_ssl_config *confs[2] = { &sconf, &cconf };
  for (int i = 0; i < 2; i++) {
    mbedtls_ssl_config_defaults(confs[i], i ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_rng(confs[i], mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_ca_chain(confs[i], &ca, NULL);
    if (argc > 6) {
      suites[0] = mbedtls_ssl_get_ciphersuite_id(argv[6]);
      mbedtls_ssl_conf_ciphersuites(confs[i], suites);
    }
  }
  mbedtls_ssl_conf_own_cert(&sconf, &crt, &key);
  mbedtls_ssl_conf_authmode(&sconf, MBEDTLS_SSL_VERIFY_NONE);
  mbedtls_ssl_conf_authmode(&cconf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_setup(&s, &sconf); mbedtls_ssl_setup(&c, &cconf);
  mbedtls_ssl_set_hostname(&c, "localhost");
  /* the server sends on s2c and reads c2s; the client the other way round */
  extern int s_send(void *, const unsigned char *, size_t), s_recv(void *, unsigned char *, size_t);
  mbedtls_ssl_set_bio(&s, NULL, s_send, s_recv, NULL);
  extern int c_send(void *, const unsigned char *, size_t), c_recv(void *, unsigned char *, size_t);
  mbedtls_ssl_set_bio(&c, NULL, c_send, c_recv, NULL);
  for (int i = 0; i < 200; i++) {
    int a = mbedtls_ssl_handshake(&c), b = mbedtls_ssl_handshake(&s);
    if (a == 0 && b == 0) break;
    if ((a && a != MBEDTLS_ERR_SSL_WANT_READ) || (b && b != MBEDTLS_ERR_SSL_WANT_READ)) {
      fprintf(stderr, "handshake -0x%x -0x%x\n", -a, -b);
      return 1;
    }
  }
  static unsigned char chunk[16384], sink[16384];
  memset(chunk, 'a', sizeof chunk);
  double ms = 0;
  for (int pass = 0; pass < 2; pass++) {
    long long total = (long long)atoi(argv[pass ? 4 : 5]) << 20, got = 0;
    double t0 = now();
    for (long long sent = 0; sent < total;) {
      int w = mbedtls_ssl_write(&c, chunk, sizeof chunk);
      if (w <= 0) { fprintf(stderr, "write -0x%x\n", -w); return 1; }
      sent += w;
      int n;
      while ((n = mbedtls_ssl_read(&s, sink, sizeof sink)) > 0) got += n;
    }
    if (got != total) { fprintf(stderr, "got %lld of %lld\n", got, total); return 1; }
    ms = now() - t0;
  }
  long long total = (long long)atoi(argv[4]) << 20;
  printf("RESULT {\"value\": %.1f, \"unit\": \"MB/s\", \"ms\": %.2f, \"cipher\": \"%s\"}\n", total / 1e6 / (ms / 1e3), ms,
         mbedtls_ssl_get_ciphersuite(&c));
  return 0;
}
int s_send(void *x, const unsigned char *b, size_t n) { (void)x; return q_send(&s2c, b, n); }
int s_recv(void *x, unsigned char *b, size_t n) { (void)x; return q_recv(&c2s, b, n); }
int c_send(void *x, const unsigned char *b, size_t n) { (void)x; return q_send(&c2s, b, n); }
int c_recv(void *x, unsigned char *b, size_t n) { (void)x; return q_recv(&s2c, b, n); }
