/**
 * The libmbedcrypto (mbedTLS 2.28) symbol table of the crypto toolbox:
 * message digests, HMAC, HKDF, PBKDF2, GCM, ChaCha20-Poly1305, the generic
 * cipher layer (AES-CBC), public keys through the pk layer, and ECDH and EC
 * point arithmetic through the ecp/ecdh/bignum layers. Contexts are
 * caller-allocated: sizes (measured on Debian 12's 2.28.3, with wide margins)
 * are in {@link CRYPTO_SIZES}, the few struct offsets used in {@link ECP_OFFSETS}.
 *
 * @module
 */

import type { SymbolTable } from "./runtime.ts";

/** libmbedcrypto functions for `backends/mbedtls/crypto*.ts`. */
export const MBEDTLS_CRYPTO_SYMBOLS = {
  mbedtls_strerror: { params: ["i32", "buf", "usize"], result: "void" }, // (int errnum, char *buf, size_t)
  mbedtls_md_info_from_string: { params: ["buf"], result: "ptr" }, // const mbedtls_md_info_t *(const char *)
  mbedtls_md_get_size: { params: ["ptr"], result: "u8" }, // unsigned char (const md_info *)
  mbedtls_md_get_type: { params: ["ptr"], result: "i32" }, // mbedtls_md_type_t
  mbedtls_md: { params: ["ptr", "buf", "usize", "buf"], result: "i32" }, // (info, in, ilen, out)
  mbedtls_md_hmac: { params: ["ptr", "buf", "usize", "buf", "usize", "buf"], result: "i32" }, // (info, key, klen, in, ilen, out)
  mbedtls_md_init: { params: ["buf"], result: "void" }, // (mbedtls_md_context_t *)
  mbedtls_md_setup: { params: ["buf", "ptr", "i32"], result: "i32" }, // (ctx, info, int hmac)
  mbedtls_md_free: { params: ["buf"], result: "void" },
  mbedtls_hkdf: {
    // (md, salt, salt_len, ikm, ikm_len, info, info_len, okm, okm_len)
    params: ["ptr", "buf", "usize", "buf", "usize", "buf", "usize", "buf", "usize"],
    result: "i32",
    optional: true,
  },
  mbedtls_pkcs5_pbkdf2_hmac: {
    // (md_ctx, pwd, plen, salt, slen, unsigned iterations, uint32_t key_length, out)
    params: ["buf", "buf", "usize", "buf", "usize", "u32", "u32", "buf"],
    result: "i32",
  },
  mbedtls_ctr_drbg_random: { params: ["ptr", "buf", "usize"], result: "i32" }, // (p_rng, out, len <= 1024)

  mbedtls_gcm_init: { params: ["buf"], result: "void" },
  mbedtls_gcm_setkey: { params: ["buf", "i32", "buf", "u32"], result: "i32" }, // (ctx, cipher_id, key, keybits)
  mbedtls_gcm_crypt_and_tag: {
    // (ctx, mode, length, iv, iv_len, add, add_len, input, output, tag_len, tag)
    params: ["buf", "i32", "usize", "buf", "usize", "buf", "usize", "buf", "buf", "usize", "buf"],
    result: "i32",
  },
  mbedtls_gcm_auth_decrypt: {
    // (ctx, length, iv, iv_len, add, add_len, tag, tag_len, input, output)
    params: ["buf", "usize", "buf", "usize", "buf", "usize", "buf", "usize", "buf", "buf"],
    result: "i32",
  },
  mbedtls_gcm_free: { params: ["buf"], result: "void" },
  mbedtls_chachapoly_init: { params: ["buf"], result: "void" },
  mbedtls_chachapoly_setkey: { params: ["buf", "buf"], result: "i32" }, // (ctx, key[32])
  mbedtls_chachapoly_encrypt_and_tag: {
    // (ctx, length, nonce[12], aad, aad_len, input, output, tag[16])
    params: ["buf", "usize", "buf", "buf", "usize", "buf", "buf", "buf"],
    result: "i32",
  },
  mbedtls_chachapoly_auth_decrypt: {
    // (ctx, length, nonce[12], aad, aad_len, tag[16], input, output)
    params: ["buf", "usize", "buf", "buf", "usize", "buf", "buf", "buf"],
    result: "i32",
  },
  mbedtls_chachapoly_free: { params: ["buf"], result: "void" },
  mbedtls_cipher_info_from_string: { params: ["buf"], result: "ptr" },
  mbedtls_cipher_init: { params: ["buf"], result: "void" },
  mbedtls_cipher_setup: { params: ["buf", "ptr"], result: "i32" },
  mbedtls_cipher_setkey: { params: ["buf", "buf", "i32", "i32"], result: "i32" }, // (ctx, key, bits, operation)
  mbedtls_cipher_set_padding_mode: { params: ["buf", "i32"], result: "i32" },
  mbedtls_cipher_crypt: {
    // (ctx, iv, iv_len, input, ilen, output, size_t *olen)
    params: ["buf", "buf", "usize", "buf", "usize", "buf", "buf"],
    result: "i32",
  },
  mbedtls_cipher_free: { params: ["buf"], result: "void" },

  mbedtls_pk_init: { params: ["buf"], result: "void" },
  mbedtls_pk_free: { params: ["buf"], result: "void" },
  mbedtls_pk_info_from_type: { params: ["i32"], result: "ptr" },
  mbedtls_pk_setup: { params: ["buf", "ptr"], result: "i32" },
  mbedtls_pk_parse_key: { params: ["buf", "buf", "usize", "buf", "usize"], result: "i32" }, // 2.28: 5 args
  mbedtls_pk_parse_public_key: { params: ["buf", "buf", "usize"], result: "i32" },
  mbedtls_pk_get_type: { params: ["buf"], result: "i32" },
  mbedtls_pk_get_bitlen: { params: ["buf"], result: "usize" },
  mbedtls_pk_write_key_der: { params: ["buf", "buf", "usize"], result: "i32" }, // writes at the END of buf
  mbedtls_pk_write_pubkey_der: { params: ["buf", "buf", "usize"], result: "i32" },
  mbedtls_pk_sign: {
    // (ctx, md_alg, hash, hash_len, sig, size_t *sig_len, f_rng, p_rng)
    params: ["buf", "i32", "buf", "usize", "buf", "buf", "ptr", "ptr"],
    result: "i32",
  },
  mbedtls_pk_verify: { params: ["buf", "i32", "buf", "usize", "buf", "usize"], result: "i32" },
  mbedtls_pk_verify_ext: {
    // (type, const void *options, ctx, md_alg, hash, hash_len, sig, sig_len)
    params: ["i32", "buf", "buf", "i32", "buf", "usize", "buf", "usize"],
    result: "i32",
  },
  mbedtls_pk_encrypt: {
    // (ctx, in, ilen, out, size_t *olen, osize, f_rng, p_rng)
    params: ["buf", "buf", "usize", "buf", "buf", "usize", "ptr", "ptr"],
    result: "i32",
  },
  mbedtls_pk_decrypt: {
    params: ["buf", "buf", "usize", "buf", "buf", "usize", "ptr", "ptr"],
    result: "i32",
  },
  mbedtls_rsa_set_padding: { params: ["ptr", "i32", "i32"], result: "void" }, // (rsa, padding, hash_id)
  mbedtls_rsa_gen_key: { params: ["ptr", "ptr", "ptr", "u32", "i32"], result: "i32" }, // (rsa, f_rng, p_rng, nbits, exponent)
  mbedtls_ecp_gen_key: { params: ["i32", "ptr", "ptr", "ptr"], result: "i32" }, // (grp_id, keypair, f_rng, p_rng)
  mbedtls_pk_check_pair: { params: ["buf", "buf"], result: "i32" }, // (pub, prv): 2 args in 2.28

  // bignum (mbedtls_mpi: 24 bytes in 2.28.3)
  mbedtls_mpi_init: { params: ["buf"], result: "void" },
  mbedtls_mpi_free: { params: ["buf"], result: "void" },
  mbedtls_mpi_lset: { params: ["buf", "i64"], result: "i32" }, // (X, mbedtls_mpi_sint z)
  mbedtls_mpi_read_binary: { params: ["buf", "buf", "usize"], result: "i32" }, // big-endian
  mbedtls_mpi_write_binary: { params: ["buf", "buf", "usize"], result: "i32" }, // left-padded to buflen
  mbedtls_mpi_size: { params: ["buf"], result: "usize" },

  // elliptic curves (group 248, point 72, keypair 344 bytes in 2.28.3)
  mbedtls_ecp_group_init: { params: ["buf"], result: "void" },
  mbedtls_ecp_group_load: { params: ["buf", "i32"], result: "i32" }, // (grp, grp_id)
  mbedtls_ecp_group_free: { params: ["buf"], result: "void" },
  mbedtls_ecp_point_init: { params: ["buf"], result: "void" },
  mbedtls_ecp_point_free: { params: ["buf"], result: "void" },
  mbedtls_ecp_point_read_binary: { params: ["buf", "buf", "buf", "usize"], result: "i32" }, // (grp, P, buf, ilen): no compressed input in 2.28
  mbedtls_ecp_point_write_binary: {
    // (grp, P, format, size_t *olen, buf, buflen)
    params: ["buf", "buf", "i32", "buf", "buf", "usize"],
    result: "i32",
  },
  mbedtls_ecp_check_pubkey: { params: ["buf", "buf"], result: "i32" }, // (grp, pt): on the curve, not zero
  mbedtls_ecp_check_privkey: { params: ["buf", "buf"], result: "i32" }, // (grp, d): 1 <= d < n
  mbedtls_ecp_is_zero: { params: ["buf"], result: "i32" },
  mbedtls_ecp_gen_privkey: { params: ["buf", "buf", "ptr", "ptr"], result: "i32" }, // (grp, d, f_rng, p_rng)
  mbedtls_ecp_mul: {
    // (grp, R, m, P, f_rng, p_rng): checks m and P itself
    params: ["buf", "buf", "buf", "buf", "ptr", "ptr"],
    result: "i32",
  },
  mbedtls_ecp_muladd: { params: ["buf", "buf", "buf", "buf", "buf", "buf"], result: "i32" }, // R = m*P + n*Q; does NOT check P, Q
  mbedtls_ecp_keypair_init: { params: ["buf"], result: "void" },
  mbedtls_ecp_keypair_free: { params: ["buf"], result: "void" },
  mbedtls_ecp_read_key: { params: ["i32", "buf", "buf", "usize"], result: "i32" }, // (grp_id, key, buf, len): clamps X25519

  // ECDH (legacy context in Debian's build: 616 bytes)
  mbedtls_ecdh_init: { params: ["buf"], result: "void" },
  mbedtls_ecdh_free: { params: ["buf"], result: "void" },
  mbedtls_ecdh_get_params: { params: ["buf", "ptr", "i32"], result: "i32" }, // (ctx, const ecp_keypair *, side)
  mbedtls_ecdh_read_public: { params: ["buf", "buf", "usize"], result: "i32" }, // (ctx, TLS ECPoint: len byte + point)
  mbedtls_ecdh_calc_secret: {
    // (ctx, size_t *olen, buf, blen, f_rng, p_rng)
    params: ["buf", "buf", "buf", "usize", "ptr", "ptr"],
    result: "i32",
  },
} as const satisfies SymbolTable;

/**
 * Context sizes to allocate: ≥ 2× the 2.28.3 sizes (md 24, gcm ~392,
 * chachapoly ~288, cipher ~96, pk 16, mpi 24, ecp_point 72, ecp_group 248,
 * ecp_keypair 344, ecdh_context 616; measured with `sizeof` on Debian 12).
 */
export const CRYPTO_SIZES = {
  md: 256,
  gcm: 2048,
  chachapoly: 1024,
  cipher: 1024,
  pk: 64,
  mpi: 64,
  point: 256,
  group: 1024,
  keypair: 1024,
  ecdh: 2048,
} as const;

/**
 * Offsets inside 2.28's public (non-private) ecp structs, measured with
 * `offsetof`: `mbedtls_ecp_group` { id 0, P 8, A 32, B 56, G 80, N 152 }
 * and `mbedtls_ecp_keypair` { grp 0, d 248, Q 272 }; a pk context holds its
 * key pointer at 8.
 */
export const ECP_OFFSETS = { groupP: 8, groupB: 56, groupG: 80, pkCtx: 8 } as const;

/** `mbedtls_ecdh_side`, `MBEDTLS_ECP_PF_*`, and the Curve25519 group id. */
export const ECP = {
  OURS: 0,
  THEIRS: 1,
  PF_UNCOMPRESSED: 0,
  PF_COMPRESSED: 1,
  CURVE25519: 9,
} as const;

/** `mbedtls_md_type_t`. */
export const MD_TYPE = { sha1: 4, sha224: 5, sha256: 6, sha384: 7, sha512: 8 } as const;

/** `mbedtls_pk_type_t`. */
export const PK_TYPE = { RSA: 1, ECKEY: 2, ECKEY_DH: 3, ECDSA: 4, RSASSA_PSS: 6 } as const;

/** `mbedtls_ecp_group_id` of the named curves. */
export const ECP_GROUP = { "P-256": 3, "P-384": 4, "P-521": 5, secp256k1: 12 } as const;

/** Error codes we tell apart. */
export const MBEDTLS_ERR = {
  GCM_AUTH_FAILED: -0x0012,
  CHACHAPOLY_AUTH_FAILED: -0x0056,
  CIPHER_INVALID_PADDING: -0x6200,
  CIPHER_FULL_BLOCK_EXPECTED: -0x6280,
  PK_PASSWORD_REQUIRED: -0x3C00,
  PK_PASSWORD_MISMATCH: -0x3B80,
  PK_KEY_INVALID_FORMAT: -0x3D00,
  ECP_BAD_INPUT_DATA: -0x4F80,
  ECP_FEATURE_UNAVAILABLE: -0x4E80,
  ECP_INVALID_KEY: -0x4C80,
} as const;
