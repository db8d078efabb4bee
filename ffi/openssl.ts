/**
 * OpenSSL 3 symbol tables for TLS and DTLS (libssl, and the parts of libcrypto
 * that TLS needs: BIO, ERR, X.509 loading), with the constants behind the
 * macros we call through `SSL_CTX_ctrl` / `SSL_ctrl` / `BIO_ctrl`.
 * The crypto toolbox's libcrypto table lives in `openssl_crypto.ts`.
 *
 * @module
 */

import type { SymbolTable } from "./runtime.ts";

/** libssl functions. */
export const LIBSSL_SYMBOLS = {
  TLS_method: { params: [], result: "ptr" }, // const SSL_METHOD *TLS_method(void)
  DTLS_method: { params: [], result: "ptr" }, // const SSL_METHOD *DTLS_method(void)
  SSL_CTX_new: { params: ["ptr"], result: "ptr" }, // SSL_CTX *SSL_CTX_new(const SSL_METHOD *)
  SSL_CTX_free: { params: ["ptr"], result: "void" },
  SSL_CTX_ctrl: { params: ["ptr", "i32", "i64", "ptr"], result: "i64" }, // (ctx, cmd, long larg, void *parg)
  SSL_CTX_callback_ctrl: { params: ["ptr", "i32", "fn"], result: "i64" }, // (ctx, cmd, void (*fp)(void))
  SSL_CTX_set_options: { params: ["ptr", "u64"], result: "u64" }, // uint64_t (SSL_CTX *, uint64_t)
  SSL_CTX_set_verify: { params: ["ptr", "i32", "fn"], result: "void" }, // (ctx, int mode, verify_cb)
  SSL_CTX_set_verify_depth: { params: ["ptr", "i32"], result: "void" },
  SSL_CTX_load_verify_locations: { params: ["ptr", "buf", "buf"], result: "i32" }, // (ctx, CAfile, CApath)
  SSL_CTX_set_default_verify_paths: { params: ["ptr"], result: "i32" },
  SSL_CTX_get_cert_store: { params: ["ptr"], result: "ptr" }, // X509_STORE *
  SSL_CTX_set_cert_store: { params: ["ptr", "ptr"], result: "void" }, // (ctx, X509_STORE *): takes a reference
  SSL_CTX_use_certificate: { params: ["ptr", "ptr"], result: "i32" }, // (ctx, X509 *)
  SSL_CTX_use_PrivateKey: { params: ["ptr", "ptr"], result: "i32" }, // (ctx, EVP_PKEY *)
  SSL_CTX_check_private_key: { params: ["ptr"], result: "i32" },
  SSL_CTX_set_cipher_list: { params: ["ptr", "buf"], result: "i32" }, // (ctx, const char *)
  SSL_CTX_set_ciphersuites: { params: ["ptr", "buf"], result: "i32" }, // (ctx, const char *)
  SSL_CTX_set_alpn_protos: { params: ["ptr", "buf", "u32"], result: "i32" }, // 0 on success
  SSL_CTX_set_alpn_select_cb: { params: ["ptr", "fn", "ptr"], result: "void" }, // (ctx, cb, arg)
  SSL_CTX_set_session_id_context: { params: ["ptr", "buf", "u32"], result: "i32" },
  SSL_CTX_set_timeout: { params: ["ptr", "i64"], result: "i64" }, // long (ctx, long t)
  SSL_CTX_sess_set_new_cb: { params: ["ptr", "fn"], result: "void" }, // (ctx, int (*)(SSL *, SSL_SESSION *))
  SSL_CTX_set_keylog_callback: { params: ["ptr", "fn"], result: "void" }, // (ctx, void (*)(const SSL *, const char *))
  SSL_CTX_set_security_level: { params: ["ptr", "i32"], result: "void" },
  SSL_CTX_set_client_CA_list: { params: ["ptr", "ptr"], result: "void" }, // (ctx, STACK_OF(X509_NAME) *)
  SSL_CTX_add_client_CA: { params: ["ptr", "ptr"], result: "i32" }, // (ctx, X509 *)

  SSL_new: { params: ["ptr"], result: "ptr" }, // SSL *SSL_new(SSL_CTX *)
  SSL_free: { params: ["ptr"], result: "void" },
  SSL_set_bio: { params: ["ptr", "ptr", "ptr"], result: "void" }, // (ssl, rbio, wbio): takes ownership
  SSL_free_buffers: { params: ["ptr"], result: "i32" }, // 0 while a record is half read or unsent
  SSL_set_connect_state: { params: ["ptr"], result: "void" },
  SSL_set_accept_state: { params: ["ptr"], result: "void" },
  SSL_do_handshake: { params: ["ptr"], result: "i32" },
  SSL_get_error: { params: ["ptr", "i32"], result: "i32" }, // (ssl, int ret)
  SSL_read: { params: ["ptr", "buf", "i32"], result: "i32" },
  SSL_write: { params: ["ptr", "buf", "i32"], result: "i32" },
  SSL_shutdown: { params: ["ptr"], result: "i32" },
  SSL_get_shutdown: { params: ["ptr"], result: "i32" },
  SSL_ctrl: { params: ["ptr", "i32", "i64", "ptr"], result: "i64" }, // (ssl, cmd, long larg, void *parg)
  SSL_set_options: { params: ["ptr", "u64"], result: "u64" },
  SSL_set_verify: { params: ["ptr", "i32", "fn"], result: "void" },
  SSL_set1_host: { params: ["ptr", "buf"], result: "i32" }, // (ssl, const char *hostname)
  SSL_get0_param: { params: ["ptr"], result: "ptr" }, // X509_VERIFY_PARAM *
  SSL_get_verify_result: { params: ["ptr"], result: "i64" }, // long
  SSL_get_version: { params: ["ptr"], result: "ptr" }, // const char *
  SSL_get_current_cipher: { params: ["ptr"], result: "ptr" }, // const SSL_CIPHER *
  SSL_CIPHER_standard_name: { params: ["ptr"], result: "ptr" }, // IANA name
  SSL_CIPHER_get_name: { params: ["ptr"], result: "ptr" }, // OpenSSL name
  SSL_CIPHER_get_bits: { params: ["ptr", "ptr"], result: "i32" }, // (c, int *alg_bits)
  SSL_get0_alpn_selected: { params: ["ptr", "buf", "buf"], result: "void" }, // (ssl, const uchar **, unsigned *)
  SSL_get_servername: { params: ["ptr", "i32"], result: "ptr" }, // (ssl, int type)
  SSL_session_reused: { params: ["ptr"], result: "i32" },
  SSL_get1_peer_certificate: { params: ["ptr"], result: "ptr" }, // X509 * (free it)
  SSL_get_peer_cert_chain: { params: ["ptr"], result: "ptr" }, // STACK_OF(X509) * (not owned)
  SSL_get1_session: { params: ["ptr"], result: "ptr" }, // SSL_SESSION *
  SSL_set_session: { params: ["ptr", "ptr"], result: "i32" },
  SSL_SESSION_free: { params: ["ptr"], result: "void" },
  SSL_SESSION_up_ref: { params: ["ptr"], result: "i32" },
  SSL_SESSION_is_resumable: { params: ["ptr"], result: "i32" },
  i2d_SSL_SESSION: { params: ["ptr", "buf"], result: "i32" }, // (sess, unsigned char **pp)
  d2i_SSL_SESSION: { params: ["ptr", "buf", "i64"], result: "ptr" }, // (NULL, const uchar **pp, long len)
  SSL_key_update: { params: ["ptr", "i32"], result: "i32" },
  SSL_export_keying_material: {
    // (ssl, uchar *out, size_t olen, const char *label, size_t llen, const uchar *ctx, size_t ctxlen, int use_ctx)
    params: ["ptr", "buf", "usize", "buf", "usize", "buf", "usize", "i32"],
    result: "i32",
  },
  SSL_get_SSL_CTX: { params: ["ptr"], result: "ptr" },
  SSL_set_SSL_CTX: { params: ["ptr", "ptr"], result: "ptr" },
  SSL_get_peer_signature_type_nid: { params: ["ptr", "buf"], result: "i32" }, // (ssl, int *pnid)
  SSL_group_to_name: { params: ["ptr", "i32"], result: "ptr", optional: true }, // 3.0+
  SSL_alert_desc_string_long: { params: ["i32"], result: "ptr" },
  SSL_pending: { params: ["ptr"], result: "i32" },
  SSL_is_init_finished: { params: ["ptr"], result: "i32" },
  SSL_get_rbio: { params: ["ptr"], result: "ptr" },
  SSL_get_wbio: { params: ["ptr"], result: "ptr" },
  SSL_set_mtu: { params: ["ptr", "i64"], result: "i64", optional: true }, // macro in most builds
  DTLS_get_data_mtu: { params: ["ptr"], result: "usize" },
  DTLS_set_timer_cb: { params: ["ptr", "fn"], result: "void" }, // (ssl, unsigned (*)(SSL *, unsigned))
  SSL_CTX_set_cookie_generate_cb: { params: ["ptr", "fn"], result: "void" },
  SSL_CTX_set_cookie_verify_cb: { params: ["ptr", "fn"], result: "void" },
  DTLSv1_listen: { params: ["ptr", "buf"], result: "i32" }, // (ssl, BIO_ADDR *client): stateless cookie exchange
} as const satisfies SymbolTable;

/** libcrypto functions that TLS needs. */
export const LIBCRYPTO_TLS_SYMBOLS = {
  OpenSSL_version: { params: ["i32"], result: "ptr" }, // const char *(int type)
  OpenSSL_version_num: { params: [], result: "u64" }, // unsigned long
  ERR_get_error: { params: [], result: "u64" }, // unsigned long
  ERR_peek_last_error: { params: [], result: "u64" },
  // unsigned long, read as u32 to stay a fast call: only ever tested for zero, and
  // OpenSSL 3 packs every code (lib, reason, the system flag) into 32 bits.
  ERR_peek_error: { params: [], result: "u32" },
  ERR_clear_error: { params: [], result: "void" },
  ERR_error_string_n: { params: ["u64", "buf", "usize"], result: "void" },
  BIO_s_mem: { params: [], result: "ptr" },
  BIO_new: { params: ["ptr"], result: "ptr" },
  BIO_new_mem_buf: { params: ["buf", "i32"], result: "ptr" }, // does not copy: use at once
  BIO_free: { params: ["ptr"], result: "i32" },
  BIO_read: { params: ["ptr", "buf", "i32"], result: "i32" },
  BIO_write: { params: ["ptr", "buf", "i32"], result: "i32" },
  BIO_ctrl: { params: ["ptr", "i32", "i64", "ptr"], result: "i64" },
  PEM_read_bio_X509: { params: ["ptr", "ptr", "ptr", "ptr"], result: "ptr" }, // (bio, X509 **, pem_cb, u)
  PEM_read_bio_PrivateKey: { params: ["ptr", "ptr", "ptr", "buf"], result: "ptr" }, // u = passphrase
  d2i_X509: { params: ["ptr", "buf", "i64"], result: "ptr" }, // (NULL, const uchar **pp, long len)
  d2i_AutoPrivateKey: { params: ["ptr", "buf", "i64"], result: "ptr" },
  i2d_X509: { params: ["ptr", "buf"], result: "i32" }, // (X509 *, uchar **out)
  X509_free: { params: ["ptr"], result: "void" },
  X509_up_ref: { params: ["ptr"], result: "i32" },
  EVP_PKEY_free: { params: ["ptr"], result: "void" },
  X509_STORE_add_cert: { params: ["ptr", "ptr"], result: "i32" },
  X509_STORE_new: { params: [], result: "ptr" },
  X509_STORE_up_ref: { params: ["ptr"], result: "i32" },
  X509_STORE_set_default_paths: { params: ["ptr"], result: "i32" },
  X509_verify_cert_error_string: { params: ["i64"], result: "ptr" },
  X509_VERIFY_PARAM_set1_ip_asc: { params: ["ptr", "buf"], result: "i32" },
  X509_VERIFY_PARAM_set_hostflags: { params: ["ptr", "u32"], result: "void" },
  OPENSSL_sk_num: { params: ["ptr"], result: "i32" },
  OPENSSL_sk_value: { params: ["ptr", "i32"], result: "ptr" },
  OBJ_nid2sn: { params: ["i32"], result: "ptr" },
  CRYPTO_malloc: { params: ["usize", "buf", "i32"], result: "ptr" }, // (num, file, line)
  EVP_sha256: { params: [], result: "ptr" }, // const EVP_MD *
  // uchar *HMAC(const EVP_MD *md, const void *key, int key_len, const uchar *d, size_t n, uchar *md, unsigned *md_len)
  HMAC: { params: ["ptr", "buf", "i32", "buf", "usize", "buf", "buf"], result: "ptr" },
} as const satisfies SymbolTable;

/** `SSL_CTX_ctrl` / `SSL_ctrl` commands (the macros' numbers, from ssl.h). */
export const SSL_CTRL = {
  EXTRA_CHAIN_CERT: 14,
  MODE: 33,
  SET_SESS_CACHE_SIZE: 42,
  SET_SESS_CACHE_MODE: 44,
  SET_TLSEXT_SERVERNAME_CB: 53,
  SET_TLSEXT_SERVERNAME_ARG: 54,
  SET_TLSEXT_HOSTNAME: 55,
  SET_TLSEXT_STATUS_REQ_CB: 63,
  SET_TLSEXT_STATUS_REQ_TYPE: 65,
  GET_TLSEXT_STATUS_REQ_OCSP_RESP: 70,
  SET_TLSEXT_STATUS_REQ_OCSP_RESP: 71,
  SET_TLSEXT_TICKET_KEY_CB: 72,
  DTLS_GET_TIMEOUT: 73,
  DTLS_HANDLE_TIMEOUT: 74,
  SET_GROUPS_LIST: 92,
  SET_SIGALGS_LIST: 98,
  SET_MIN_PROTO_VERSION: 123,
  SET_MAX_PROTO_VERSION: 124,
  GET_NEGOTIATED_GROUP: 134,
  SET_MTU: 17,
} as const;

/** `BIO_ctrl` commands. */
export const BIO_CTRL = { PENDING: 10, SET_BUF_MEM_EOF_RETURN: 130 } as const;

/** Protocol version numbers. */
export const VERSION = { TLS1_2: 0x0303, TLS1_3: 0x0304, DTLS1_2: 0xfefd } as const;

/** `SSL_get_error` results. */
export const SSL_ERROR = {
  NONE: 0,
  SSL: 1,
  WANT_READ: 2,
  WANT_WRITE: 3,
  WANT_X509_LOOKUP: 4,
  SYSCALL: 5,
  ZERO_RETURN: 6,
} as const;

/** Options (`SSL_OP_*`). */
export const SSL_OP = {
  NO_QUERY_MTU: 0x1000n,
  NO_TICKET: 0x4000n,
  CIPHER_SERVER_PREFERENCE: 0x400000n,
  NO_RENEGOTIATION: 0x40000000n,
  IGNORE_UNEXPECTED_EOF: 0x80n,
  NO_COMPRESSION: 0x20000n,
  ALLOW_CLIENT_RENEGOTIATION: 0x100n,
} as const;

/** Modes (`SSL_MODE_*`). */
export const SSL_MODE = {
  ENABLE_PARTIAL_WRITE: 0x1,
  ACCEPT_MOVING_WRITE_BUFFER: 0x2,
  RELEASE_BUFFERS: 0x10,
} as const;

/** `SSL_VERIFY_*` modes. */
export const SSL_VERIFY = { NONE: 0, PEER: 1, FAIL_IF_NO_PEER_CERT: 2 } as const;

/** Session cache modes. */
export const SSL_SESS_CACHE = {
  OFF: 0,
  CLIENT: 1,
  SERVER: 2,
  BOTH: 3,
  NO_INTERNAL_STORE: 0x200,
} as const;

/** TLS extension callback results. */
export const SSL_TLSEXT_ERR = { OK: 0, ALERT_FATAL: 2, NOACK: 3 } as const;

/** `X509_V_ERR_*` codes we name. */
export const X509_V_ERR = { HOSTNAME_MISMATCH: 62, IP_ADDRESS_MISMATCH: 64 } as const;

/** `X509_CHECK_FLAG_*`. */
export const X509_CHECK_FLAG = { NO_PARTIAL_WILDCARDS: 0x4 } as const;

/** `ERR_GET_REASON` for OpenSSL 3: the low 23 bits. */
export function errReason(code: bigint): number {
  return Number(code & 0x7fffffn);
}

/** An alert received from the peer shows as reason `1000 + alert` in the error queue. */
export const SSL_AD_REASON_OFFSET = 1000;
