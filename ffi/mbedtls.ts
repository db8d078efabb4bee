/**
 * mbedTLS 2.28 symbol tables (libmbedcrypto, libmbedx509, libmbedtls) for TLS
 * and DTLS, and the constants behind the macros jsec needs. Struct sizes and
 * the few field offsets we read are in {@link SIZES} / {@link OFFSETS}: no API
 * reports them, they were measured with `sizeof`/`offsetof` against Debian 12's
 * 2.28.3 headers and are allocated with a wide margin.
 *
 * The crypto toolbox's libmbedcrypto table lives in `mbedtls_crypto.ts`.
 *
 * @module
 */

import type { SymbolTable } from "./runtime.ts";

/** libmbedcrypto: RNG, keys, errors, version, SHA-256 (fingerprints). */
export const LIBMBEDCRYPTO_TLS_SYMBOLS = {
  mbedtls_version_get_number: { params: [], result: "u32" }, // unsigned int (void)
  mbedtls_version_get_string_full: { params: ["buf"], result: "void" }, // (char *string) >= 18 bytes
  mbedtls_strerror: { params: ["i32", "buf", "usize"], result: "void" }, // (int errnum, char *buf, size_t buflen)
  mbedtls_entropy_init: { params: ["ptr"], result: "void" }, // (mbedtls_entropy_context *)
  mbedtls_entropy_free: { params: ["ptr"], result: "void" },
  mbedtls_ctr_drbg_init: { params: ["ptr"], result: "void" }, // (mbedtls_ctr_drbg_context *)
  mbedtls_ctr_drbg_free: { params: ["ptr"], result: "void" },
  mbedtls_ctr_drbg_seed: {
    // (ctx, int (*f_entropy)(void *, unsigned char *, size_t), void *p_entropy, const unsigned char *custom, size_t len)
    params: ["ptr", "fn", "ptr", "buf", "usize"],
    result: "i32",
  },
  mbedtls_pk_init: { params: ["ptr"], result: "void" }, // (mbedtls_pk_context *)
  mbedtls_pk_free: { params: ["ptr"], result: "void" },
  mbedtls_pk_parse_key: {
    // 2.28: (ctx, const unsigned char *key, size_t keylen, const unsigned char *pwd, size_t pwdlen)
    params: ["ptr", "buf", "usize", "buf", "usize"],
    result: "i32",
  },
  mbedtls_sha256_ret: { params: ["buf", "usize", "buf", "i32"], result: "i32" }, // (in, ilen, out[32], int is224)
  mbedtls_pk_check_pair: { params: ["ptr", "ptr"], result: "i32" }, // (const pk_context *pub, const pk_context *prv)
} as const satisfies SymbolTable;

/** libmbedx509: certificate chains. */
export const LIBMBEDX509_SYMBOLS = {
  mbedtls_x509_crt_init: { params: ["ptr"], result: "void" }, // (mbedtls_x509_crt *)
  mbedtls_x509_crt_free: { params: ["ptr"], result: "void" }, // frees the whole chain
  mbedtls_x509_crt_parse: { params: ["ptr", "buf", "usize"], result: "i32" }, // (chain, buf, buflen): PEM needs the NUL in buflen; > 0 = certs skipped
  mbedtls_x509_crt_parse_der: { params: ["ptr", "buf", "usize"], result: "i32" }, // (chain, buf, buflen): copies
  mbedtls_x509_crt_parse_file: { params: ["ptr", "buf"], result: "i32" }, // (chain, const char *path)
  mbedtls_x509_crt_parse_path: { params: ["ptr", "buf"], result: "i32" }, // (chain, const char *dir)
  mbedtls_x509_crt_verify_info: {
    // (char *buf, size_t size, const char *prefix, uint32_t flags): chars written or < 0
    params: ["buf", "usize", "buf", "u32"],
    result: "i32",
  },
} as const satisfies SymbolTable;

/** libmbedtls: TLS/DTLS, cookies, tickets, the session cache. */
export const LIBMBEDTLS_SYMBOLS = {
  mbedtls_ssl_config_init: { params: ["ptr"], result: "void" }, // (mbedtls_ssl_config *)
  mbedtls_ssl_config_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_config_defaults: { params: ["ptr", "i32", "i32", "i32"], result: "i32" }, // (conf, endpoint, transport, preset)
  mbedtls_ssl_conf_rng: { params: ["ptr", "fn", "ptr"], result: "void" }, // (conf, f_rng, p_rng)
  mbedtls_ssl_conf_authmode: { params: ["ptr", "i32"], result: "void" }, // (conf, int authmode)
  mbedtls_ssl_conf_ca_chain: { params: ["ptr", "ptr", "ptr"], result: "void" }, // (conf, x509_crt *ca, x509_crl *crl)
  mbedtls_ssl_conf_own_cert: { params: ["ptr", "ptr", "ptr"], result: "i32" }, // (conf, x509_crt *chain, pk_context *key)
  mbedtls_ssl_conf_min_version: { params: ["ptr", "i32", "i32"], result: "void" }, // (conf, major, minor)
  mbedtls_ssl_conf_max_version: { params: ["ptr", "i32", "i32"], result: "void" },
  mbedtls_ssl_conf_ciphersuites: { params: ["ptr", "ptr"], result: "void" }, // (conf, const int *list): kept
  mbedtls_ssl_conf_curves: { params: ["ptr", "ptr"], result: "void" }, // (conf, const ecp_group_id *list): kept
  mbedtls_ssl_conf_alpn_protocols: { params: ["ptr", "ptr"], result: "i32" }, // (conf, const char **protos): kept
  mbedtls_ssl_conf_sni: { params: ["ptr", "fn", "ptr"], result: "void" }, // (conf, f_sni(p, ssl, name, len), p_sni)
  mbedtls_ssl_conf_session_tickets: { params: ["ptr", "i32"], result: "void" }, // client: (conf, int use_tickets)
  mbedtls_ssl_conf_session_tickets_cb: { params: ["ptr", "fn", "fn", "ptr"], result: "void" }, // server: (conf, write, parse, p_ticket)
  mbedtls_ssl_conf_session_cache: { params: ["ptr", "ptr", "fn", "fn"], result: "void" }, // (conf, p_cache, f_get, f_set)
  mbedtls_ssl_conf_export_keys_ext_cb: { params: ["ptr", "fn", "ptr"], result: "void" }, // (conf, f, p_export_keys)
  mbedtls_ssl_conf_dtls_cookies: { params: ["ptr", "fn", "fn", "ptr"], result: "void" }, // (conf, f_write, f_check, p_cookie)
  mbedtls_ssl_conf_transport: { params: ["ptr", "i32"], result: "void" },
  mbedtls_ssl_conf_renegotiation: { params: ["ptr", "i32"], result: "void" },
  mbedtls_ssl_conf_handshake_timeout: { params: ["ptr", "u32", "u32"], result: "void" }, // (conf, min ms, max ms)

  mbedtls_ssl_init: { params: ["ptr"], result: "void" }, // (mbedtls_ssl_context *)
  mbedtls_ssl_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_setup: { params: ["ptr", "ptr"], result: "i32" }, // (ssl, const mbedtls_ssl_config *conf)
  mbedtls_ssl_session_reset: { params: ["ptr"], result: "i32" },
  mbedtls_ssl_set_bio: { params: ["ptr", "ptr", "fn", "fn", "fn"], result: "void" }, // (ssl, p_bio, f_send, f_recv, f_recv_timeout)
  mbedtls_ssl_set_timer_cb: { params: ["ptr", "ptr", "fn", "fn"], result: "void" }, // (ssl, p_timer, f_set_timer, f_get_timer)
  mbedtls_ssl_set_mtu: { params: ["ptr", "u16"], result: "void" }, // (ssl, uint16_t mtu)
  mbedtls_ssl_set_client_transport_id: { params: ["ptr", "buf", "usize"], result: "i32" }, // (ssl, const uchar *info, size_t ilen): copies
  mbedtls_ssl_set_hostname: { params: ["ptr", "buf"], result: "i32" }, // (ssl, const char *hostname): copies; SNI + name check
  mbedtls_ssl_set_verify: { params: ["ptr", "fn", "ptr"], result: "void" }, // (ssl, f_vrfy(p, crt, depth, uint32_t *flags), p_vrfy)
  mbedtls_ssl_set_hs_own_cert: { params: ["ptr", "ptr", "ptr"], result: "i32" }, // in the SNI callback: (ssl, crt, key)
  mbedtls_ssl_set_session: { params: ["ptr", "ptr"], result: "i32" }, // client: (ssl, const session *)
  mbedtls_ssl_handshake: { params: ["ptr"], result: "i32" },
  mbedtls_ssl_handshake_step: { params: ["ptr"], result: "i32" },
  mbedtls_ssl_read: { params: ["ptr", "buf", "usize"], result: "i32" }, // (ssl, uchar *buf, size_t len)
  mbedtls_ssl_write: { params: ["ptr", "buf", "usize"], result: "i32" }, // (ssl, const uchar *buf, size_t len)
  mbedtls_ssl_close_notify: { params: ["ptr"], result: "i32" },
  mbedtls_ssl_send_alert_message: { params: ["ptr", "u8", "u8"], result: "i32" }, // (ssl, uchar level, uchar message)
  mbedtls_ssl_get_bytes_avail: { params: ["ptr"], result: "usize" },
  mbedtls_ssl_get_verify_result: { params: ["ptr"], result: "u32" },
  mbedtls_ssl_get_ciphersuite: { params: ["ptr"], result: "ptr" }, // const char * ("TLS-ECDHE-...")
  mbedtls_ssl_get_version: { params: ["ptr"], result: "ptr" }, // const char * ("TLSv1.2", "DTLSv1.2")
  mbedtls_ssl_get_alpn_protocol: { params: ["ptr"], result: "ptr" }, // const char * or NULL
  mbedtls_ssl_get_peer_cert: { params: ["ptr"], result: "ptr" }, // const mbedtls_x509_crt * (not owned)
  mbedtls_ssl_get_max_out_record_payload: { params: ["ptr"], result: "i32" },
  mbedtls_ssl_get_session: { params: ["ptr", "ptr"], result: "i32" }, // (ssl, mbedtls_ssl_session *dst)
  mbedtls_ssl_session_init: { params: ["ptr"], result: "void" },
  mbedtls_ssl_session_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_session_save: {
    // (const session *, unsigned char *buf, size_t buf_len, size_t *olen)
    params: ["ptr", "buf", "usize", "buf"],
    result: "i32",
  },
  mbedtls_ssl_session_load: { params: ["ptr", "buf", "usize"], result: "i32" }, // (session *, const uchar *buf, size_t len)
  mbedtls_ssl_get_ciphersuite_id: { params: ["buf"], result: "i32" }, // (const char *name): 0 if unknown
  mbedtls_ssl_tls_prf: {
    // (mbedtls_tls_prf_types prf, const uchar *secret, size_t slen, const char *label,
    //  const uchar *random, size_t rlen, uchar *dstbuf, size_t dlen)
    params: ["i32", "buf", "usize", "buf", "buf", "usize", "buf", "usize"],
    result: "i32",
  },

  mbedtls_ssl_cookie_init: { params: ["ptr"], result: "void" }, // (mbedtls_ssl_cookie_ctx *)
  mbedtls_ssl_cookie_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_cookie_setup: { params: ["ptr", "fn", "ptr"], result: "i32" }, // (ctx, f_rng, p_rng)
  mbedtls_ssl_ticket_init: { params: ["ptr"], result: "void" }, // (mbedtls_ssl_ticket_context *)
  mbedtls_ssl_ticket_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_ticket_setup: { params: ["ptr", "fn", "ptr", "i32", "u32"], result: "i32" }, // (ctx, f_rng, p_rng, cipher_type, uint32_t lifetime)
  mbedtls_ssl_cache_init: { params: ["ptr"], result: "void" }, // (mbedtls_ssl_cache_context *)
  mbedtls_ssl_cache_free: { params: ["ptr"], result: "void" },
  mbedtls_ssl_cache_set_timeout: { params: ["ptr", "i32"], result: "void" }, // (cache, int seconds)
  mbedtls_ssl_cache_set_max_entries: { params: ["ptr", "i32"], result: "void" }, // (cache, int max)
} as const satisfies SymbolTable;

/** Functions passed to mbedTLS as pointers (looked up with `symbolAddress`), by library. */
export const FUNCTION_POINTERS = {
  crypto: ["mbedtls_entropy_func", "mbedtls_ctr_drbg_random"],
  tls: [
    "mbedtls_ssl_cookie_write",
    "mbedtls_ssl_cookie_check",
    "mbedtls_ssl_ticket_write",
    "mbedtls_ssl_ticket_parse",
    "mbedtls_ssl_cache_get",
    "mbedtls_ssl_cache_set",
  ],
} as const;

/**
 * Bytes to allocate per struct. Measured sizes on Debian 12 (x86_64, 2.28.3):
 * ssl_context 736, ssl_config 416, x509_crt 616, pk_context 16,
 * entropy_context 37 960, ctr_drbg_context 392, ssl_cookie_ctx 80,
 * ssl_ticket_context 280, ssl_cache_context 64, ssl_session 160.
 * Allocated at 2x or more (entropy: 64 KiB), zeroed.
 */
export const SIZES = {
  ssl: 2048,
  config: 1024,
  x509_crt: 1536,
  pk: 64,
  entropy: 65536,
  ctr_drbg: 1024,
  cookie: 256,
  ticket: 1024,
  cache: 256,
  session: 512,
} as const;

/**
 * Field offsets jsec reads directly (2.28, x86_64/aarch64 LP64). The x509_crt
 * ones do not depend on the build's options; the ssl_context ones are guarded
 * by sanity checks before use.
 */
export const OFFSETS = {
  /** `mbedtls_x509_crt.raw.len` (size_t) and `.raw.p` (unsigned char *). */
  crtRawLen: 16,
  crtRawP: 24,
  /** `mbedtls_x509_crt.next`: the last field. */
  crtNext: 608,
  /** `mbedtls_ssl_context.state` (int, right after the `conf` pointer). */
  sslState: 8,
  /** `mbedtls_ssl_context.in_msg` (unsigned char *), `in_msgtype` (int), `in_msglen` (size_t). */
  sslInMsg: 216,
  sslInMsgType: 232,
  sslInMsgLen: 240,
} as const;

/** Error codes (negative). */
export const ERR = {
  WANT_READ: -0x6900,
  WANT_WRITE: -0x6880,
  TIMEOUT: -0x6800,
  PEER_CLOSE_NOTIFY: -0x7880,
  HELLO_VERIFY_REQUIRED: -0x6A80,
  FATAL_ALERT_MESSAGE: -0x7780,
  CONN_EOF: -0x7280,
  NO_CLIENT_CERTIFICATE: -0x7480,
  CLIENT_RECONNECT: -0x6780,
  BAD_INPUT_DATA: -0x7100,
  INVALID_MAC: -0x7180,
  ASYNC_IN_PROGRESS: -0x6500,
  CRYPTO_IN_PROGRESS: -0x7000,
  NON_FATAL: -0x6680,
  CONTINUE_PROCESSING: -0x6580,
  X509_CERT_VERIFY_FAILED: -0x2700,
  PK_PASSWORD_REQUIRED: -0x3C00,
  PK_PASSWORD_MISMATCH: -0x3B80,
} as const;

/** `mbedtls_ssl_states` values jsec looks at. */
export const STATE = {
  HELLO_REQUEST: 0,
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  SERVER_CERTIFICATE: 3,
  CERTIFICATE_VERIFY: 9,
  HANDSHAKE_OVER: 16,
} as const;

/** Miscellaneous constants from ssl.h, ecp.h, cipher.h. */
export const C = {
  IS_CLIENT: 0,
  IS_SERVER: 1,
  TRANSPORT_STREAM: 0,
  TRANSPORT_DATAGRAM: 1,
  PRESET_DEFAULT: 0,
  VERIFY_NONE: 0,
  VERIFY_OPTIONAL: 1,
  VERIFY_REQUIRED: 2,
  MAJOR_VERSION_3: 3,
  MINOR_VERSION_3: 3, // TLS 1.2 / DTLS 1.2
  ALERT_LEVEL_FATAL: 2,
  ALERT_HANDSHAKE_FAILURE: 40,
  ALERT_BAD_CERT: 42,
  MSG_ALERT: 21,
  CIPHER_AES_256_GCM: 16,
  /** mbedtls_tls_prf_types */
  PRF_SHA384: 3,
  PRF_SHA256: 4,
} as const;

/** `mbedtls_ecp_group_id` values by the names `groups` accepts. */
export const GROUP_IDS: Readonly<Record<string, number>> = {
  "P-256": 3,
  "P-384": 4,
  "P-521": 5,
  X25519: 9,
};

/** X.509 verify flags (x509.h) → OpenSSL's wording where one exists. */
export const VERIFY_FLAGS: readonly (readonly [number, string])[] = [
  [0x08, "unable to get local issuer certificate"], // BADCERT_NOT_TRUSTED (refined by the caller)
  [0x40, "peer did not return a certificate"], // BADCERT_MISSING
  [0x01, "certificate has expired"], // BADCERT_EXPIRED
  [0x200, "certificate is not yet valid"], // BADCERT_FUTURE
  [0x02, "certificate revoked"], // BADCERT_REVOKED
  [0x4000, "certificate signature digest algorithm not allowed"], // BADCERT_BAD_MD
  [0x8000, "certificate signature algorithm not allowed"], // BADCERT_BAD_PK
  [0x10000, "certificate key too weak"], // BADCERT_BAD_KEY
  [0x800, "unsupported certificate purpose"], // BADCERT_KEY_USAGE
  [0x1000, "unsupported certificate purpose"], // BADCERT_EXT_KEY_USAGE
  [0x2000, "unsupported certificate purpose"], // BADCERT_NS_CERT_TYPE
  [0x04, "hostname mismatch"], // BADCERT_CN_MISMATCH
  [0x80, "certificate verification was skipped"], // BADCERT_SKIP_VERIFY
  [0x100, "certificate rejected"], // BADCERT_OTHER
];

/** BADCERT_NOT_TRUSTED, BADCERT_CN_MISMATCH. */
export const FLAG_NOT_TRUSTED = 0x08;
export const FLAG_CN_MISMATCH = 0x04;

/** TLS alert descriptions as OpenSSL's `SSL_alert_desc_string_long` words them. */
export const ALERTS: Readonly<Record<number, string>> = {
  0: "close notify",
  10: "unexpected_message",
  20: "bad record mac",
  21: "decryption failed",
  22: "record overflow",
  30: "decompression failure",
  40: "handshake failure",
  41: "no certificate",
  42: "bad certificate",
  43: "unsupported certificate",
  44: "certificate revoked",
  45: "certificate expired",
  46: "certificate unknown",
  47: "illegal parameter",
  48: "unknown CA",
  49: "access denied",
  50: "decode error",
  51: "decrypt error",
  60: "export restriction",
  70: "protocol version",
  71: "insufficient security",
  80: "internal error",
  86: "inappropriate fallback",
  90: "user canceled",
  100: "no renegotiation",
  109: "missing extension",
  110: "unsupported extension",
  112: "unrecognized name",
  115: "unknown PSK identity",
  116: "certificate required",
  120: "no application protocol",
};
