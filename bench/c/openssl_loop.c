/* OpenSSL engine-to-engine loop in C: the same work as `case.ts --case loop`
 * (client SSL_write 16 KiB -> BIO_read -> BIO_write -> server SSL_read), one
 * thread, memory BIOs. Usage: openssl_loop cert.pem key.pem MiB warmMiB
 * Prints: RESULT {"value": MB/s, "unit": "MB/s", "cipher": "..."} */
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

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_use_certificate_chain_file(sctx, argv[1]) != 1 || SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  if (argc > 5) SSL_CTX_set_ciphersuites(cctx, argv[5]);
  SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
  SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  for (int i = 0; i < 20; i++) {
    int a = SSL_do_handshake(c);
    move(c, s);
    int b = SSL_do_handshake(s);
    move(s, c);
    if (a == 1 && b == 1) break;
  }
  static unsigned char chunk[16384], sink[16384];
  memset(chunk, 'a', sizeof chunk);
  double ms = 0;
  for (int pass = 0; pass < 2; pass++) {
    long long total = (long long)atoi(argv[pass ? 3 : 4]) << 20, got = 0;
    double t0 = now();
    for (long long sent = 0; sent < total; sent += sizeof chunk) {
      if (SSL_write(c, chunk, sizeof chunk) != (int)sizeof chunk) return 1;
      move(c, s);
      int n;
      while ((n = SSL_read(s, sink, sizeof sink)) > 0) got += n;
    }
    if (got != total) { fprintf(stderr, "got %lld of %lld\n", got, total); return 1; }
    ms = now() - t0;
  }
  long long total = (long long)atoi(argv[3]) << 20;
  printf("RESULT {\"value\": %.1f, \"unit\": \"MB/s\", \"ms\": %.2f, \"cipher\": \"%s\"}\n", total / 1e6 / (ms / 1e3), ms,
         SSL_CIPHER_standard_name(SSL_get_current_cipher(c)));
  return 0;
}
