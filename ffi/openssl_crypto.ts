/**
 * The libcrypto (OpenSSL 3) symbol table of the crypto toolbox: EVP digests,
 * MACs, KDFs, ciphers and keys, encoders/decoders, X.509 and CSR building,
 * PKCS#12, CMS, EC points and BIGNUMs. Opened apart from the TLS table in
 * `openssl.ts` (dlopen shares the one loaded copy).
 *
 * @module
 */

import type { SymbolTable } from "./runtime.ts";

/** libcrypto functions for `backends/openssl/crypto*.ts`. */
export const OPENSSL_CRYPTO_SYMBOLS = {
  OpenSSL_version: { params: ["i32"], result: "ptr" }, // const char *(int type)
  ERR_get_error: { params: [], result: "u64" }, // unsigned long
  ERR_clear_error: { params: [], result: "void" },
  ERR_error_string_n: { params: ["u64", "buf", "usize"], result: "void" }, // (e, char *buf, size_t len)
  CRYPTO_free: { params: ["ptr", "buf", "i32"], result: "void" }, // (void *, const char *file, int line)
  CRYPTO_malloc: { params: ["usize", "buf", "i32"], result: "ptr" }, // (size_t, file, line)
  RAND_bytes: { params: ["buf", "i32"], result: "i32" }, // (unsigned char *, int)

  // ---- BIO
  BIO_s_mem: { params: [], result: "ptr" },
  BIO_new: { params: ["ptr"], result: "ptr" }, // BIO *(const BIO_METHOD *)
  BIO_new_mem_buf: { params: ["ptr", "i32"], result: "ptr" }, // (const void *, int): no copy
  BIO_free: { params: ["ptr"], result: "i32" },
  BIO_write: { params: ["ptr", "buf", "i32"], result: "i32" },
  BIO_ctrl: { params: ["ptr", "i32", "i64", "buf"], result: "i64" }, // (bio, cmd, long, void *)

  // ---- digests, MACs, KDFs
  EVP_get_digestbyname: { params: ["buf"], result: "ptr" }, // const EVP_MD *(const char *)
  EVP_MD_get_size: { params: ["ptr"], result: "i32" },
  EVP_Digest: {
    // (const void *data, size_t count, uchar *md, unsigned *size, const EVP_MD *type, ENGINE *)
    params: ["buf", "usize", "buf", "buf", "ptr", "ptr"],
    result: "i32",
  },
  HMAC: {
    // uchar *HMAC(const EVP_MD *, const void *key, int key_len, const uchar *d, size_t n, uchar *md, unsigned *md_len)
    params: ["ptr", "buf", "i32", "buf", "usize", "buf", "buf"],
    result: "ptr",
  },
  PKCS5_PBKDF2_HMAC: {
    // (const char *pass, int passlen, const uchar *salt, int saltlen, int iter, const EVP_MD *, int keylen, uchar *out)
    params: ["buf", "i32", "buf", "i32", "i32", "ptr", "i32", "buf"],
    result: "i32",
  },
  EVP_KDF_fetch: { params: ["ptr", "buf", "ptr"], result: "ptr" }, // (libctx, const char *alg, props)
  EVP_KDF_free: { params: ["ptr"], result: "void" },
  EVP_KDF_CTX_new: { params: ["ptr"], result: "ptr" }, // (EVP_KDF *)
  EVP_KDF_CTX_free: { params: ["ptr"], result: "void" },
  EVP_KDF_derive: { params: ["ptr", "buf", "usize", "buf"], result: "i32" }, // (ctx, out, len, const OSSL_PARAM[])

  // ---- ciphers
  EVP_get_cipherbyname: { params: ["buf"], result: "ptr" }, // const EVP_CIPHER *(const char *)
  EVP_CIPHER_CTX_new: { params: [], result: "ptr" },
  EVP_CIPHER_CTX_free: { params: ["ptr"], result: "void" },
  EVP_CipherInit_ex: {
    // (ctx, const EVP_CIPHER *, ENGINE *, const uchar *key, const uchar *iv, int enc)
    params: ["ptr", "ptr", "ptr", "buf", "buf", "i32"],
    result: "i32",
  },
  EVP_CipherUpdate: { params: ["ptr", "buf", "buf", "buf", "i32"], result: "i32" }, // (ctx, out, int *outl, in, inl)
  EVP_CipherFinal_ex: { params: ["ptr", "buf", "buf"], result: "i32" }, // (ctx, out, int *outl)
  EVP_CIPHER_CTX_ctrl: { params: ["ptr", "i32", "i32", "buf"], result: "i32" }, // (ctx, type, arg, void *ptr)
  EVP_CIPHER_CTX_set_padding: { params: ["ptr", "i32"], result: "i32" },
  EVP_aes_256_cbc: { params: [], result: "ptr" },

  // ---- keys
  EVP_PKEY_CTX_new_from_name: { params: ["ptr", "buf", "ptr"], result: "ptr" }, // (libctx, name, props)
  EVP_PKEY_CTX_new: { params: ["ptr", "ptr"], result: "ptr" }, // (EVP_PKEY *, ENGINE *)
  EVP_PKEY_CTX_free: { params: ["ptr"], result: "void" },
  EVP_PKEY_private_check: { params: ["ptr"], result: "i32" }, // (EVP_PKEY_CTX *); 3.0+
  EVP_PKEY_keygen_init: { params: ["ptr"], result: "i32" },
  EVP_PKEY_generate: { params: ["ptr", "buf"], result: "i32" }, // (ctx, EVP_PKEY **)
  EVP_PKEY_CTX_set_rsa_keygen_bits: { params: ["ptr", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_group_name: { params: ["ptr", "buf"], result: "i32" },
  EVP_PKEY_free: { params: ["ptr"], result: "void" },
  EVP_PKEY_up_ref: { params: ["ptr"], result: "i32" },
  EVP_PKEY_get_bits: { params: ["ptr"], result: "i32" },
  EVP_PKEY_get_size: { params: ["ptr"], result: "i32" },
  EVP_PKEY_get_base_id: { params: ["ptr"], result: "i32" },
  EVP_PKEY_get_group_name: { params: ["ptr", "buf", "usize", "buf"], result: "i32" }, // (pkey, char *, size_t, size_t *)
  EVP_PKEY_get_raw_public_key: { params: ["ptr", "buf", "buf"], result: "i32" }, // (pkey, uchar *, size_t *)
  EVP_PKEY_get_octet_string_param: {
    // (pkey, const char *name, uchar *buf, size_t max, size_t *out_len)
    params: ["ptr", "buf", "buf", "usize", "buf"],
    result: "i32",
  },
  EVP_PKEY_eq: { params: ["ptr", "ptr"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_padding: { params: ["ptr", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_pss_saltlen: { params: ["ptr", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_oaep_md: { params: ["ptr", "ptr"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_mgf1_md: { params: ["ptr", "ptr"], result: "i32" },
  EVP_PKEY_CTX_set0_rsa_oaep_label: { params: ["ptr", "ptr", "i32"], result: "i32" }, // takes the label
  OSSL_DECODER_CTX_new_for_pkey: {
    // (EVP_PKEY **, const char *input_type, const char *input_struct, const char *keytype, int selection, libctx, props)
    params: ["buf", "buf", "ptr", "ptr", "i32", "ptr", "ptr"],
    result: "ptr",
  },
  OSSL_DECODER_CTX_set_passphrase: { params: ["ptr", "buf", "usize"], result: "i32" },
  OSSL_DECODER_from_data: { params: ["ptr", "buf", "buf"], result: "i32" }, // (ctx, const uchar **, size_t *)
  OSSL_DECODER_CTX_free: { params: ["ptr"], result: "void" },
  OSSL_ENCODER_CTX_new_for_pkey: {
    // (const EVP_PKEY *, int selection, const char *output_type, const char *output_struct, props)
    params: ["ptr", "i32", "buf", "buf", "ptr"],
    result: "ptr",
  },
  OSSL_ENCODER_CTX_set_cipher: { params: ["ptr", "buf", "ptr"], result: "i32" }, // (ctx, name, props)
  OSSL_ENCODER_CTX_set_passphrase: { params: ["ptr", "buf", "usize"], result: "i32" },
  OSSL_ENCODER_to_data: { params: ["ptr", "buf", "buf"], result: "i32" }, // (ctx, uchar **, size_t *)
  OSSL_ENCODER_CTX_get_num_encoders: { params: ["ptr"], result: "i32" },
  OSSL_ENCODER_CTX_free: { params: ["ptr"], result: "void" },

  // ---- sign, verify, encrypt, derive
  EVP_MD_CTX_new: { params: [], result: "ptr" },
  EVP_MD_CTX_free: { params: ["ptr"], result: "void" },
  EVP_DigestSignInit: { params: ["ptr", "buf", "ptr", "ptr", "ptr"], result: "i32" }, // (mctx, EVP_PKEY_CTX **, md, e, pkey)
  EVP_DigestSign: { params: ["ptr", "buf", "buf", "buf", "usize"], result: "i32" }, // (ctx, sig, size_t *siglen, tbs, tbslen)
  EVP_DigestVerifyInit: { params: ["ptr", "buf", "ptr", "ptr", "ptr"], result: "i32" },
  EVP_DigestVerify: { params: ["ptr", "buf", "usize", "buf", "usize"], result: "i32" }, // (ctx, sig, siglen, tbs, tbslen)
  EVP_PKEY_encrypt_init: { params: ["ptr"], result: "i32" },
  EVP_PKEY_encrypt: { params: ["ptr", "buf", "buf", "buf", "usize"], result: "i32" }, // (ctx, out, size_t *outlen, in, inlen)
  EVP_PKEY_decrypt_init: { params: ["ptr"], result: "i32" },
  EVP_PKEY_decrypt: { params: ["ptr", "buf", "buf", "buf", "usize"], result: "i32" },
  EVP_PKEY_derive_init: { params: ["ptr"], result: "i32" },
  EVP_PKEY_derive_set_peer: { params: ["ptr", "ptr"], result: "i32" },
  EVP_PKEY_derive: { params: ["ptr", "buf", "buf"], result: "i32" }, // (ctx, key, size_t *keylen)

  // ---- X.509 certificates
  X509_new: { params: [], result: "ptr" },
  X509_free: { params: ["ptr"], result: "void" },
  X509_up_ref: { params: ["ptr"], result: "i32" },
  d2i_X509: { params: ["ptr", "buf", "i64"], result: "ptr" }, // (NULL, const uchar **pp, long)
  i2d_X509: { params: ["ptr", "buf"], result: "i32" }, // (X509 *, uchar **out)
  X509_set_version: { params: ["ptr", "i64"], result: "i32" },
  X509_get_serialNumber: { params: ["ptr"], result: "ptr" }, // ASN1_INTEGER *
  X509_getm_notBefore: { params: ["ptr"], result: "ptr" }, // ASN1_TIME *
  X509_getm_notAfter: { params: ["ptr"], result: "ptr" },
  ASN1_TIME_set: { params: ["ptr", "i64"], result: "ptr" }, // (ASN1_TIME *, time_t)
  X509_get_subject_name: { params: ["ptr"], result: "ptr" }, // X509_NAME * (not owned)
  X509_set_subject_name: { params: ["ptr", "ptr"], result: "i32" },
  X509_set_issuer_name: { params: ["ptr", "ptr"], result: "i32" },
  X509_set_pubkey: { params: ["ptr", "ptr"], result: "i32" },
  X509_get_pubkey: { params: ["ptr"], result: "ptr" }, // EVP_PKEY * (new reference)
  X509_NAME_add_entry_by_txt: {
    // (X509_NAME *, const char *field, int type, const uchar *bytes, int len, int loc, int set)
    params: ["ptr", "buf", "i32", "buf", "i32", "i32", "i32"],
    result: "i32",
  },
  X509V3_set_ctx: { params: ["buf", "ptr", "ptr", "ptr", "ptr", "i32"], result: "void" }, // (ctx, issuer, subject, req, crl, flags)
  X509V3_EXT_nconf_nid: { params: ["ptr", "buf", "i32", "buf"], result: "ptr" }, // (CONF *, X509V3_CTX *, nid, value)
  X509_EXTENSION_free: { params: ["ptr"], result: "void" },
  X509_add_ext: { params: ["ptr", "ptr", "i32"], result: "i32" }, // (X509 *, X509_EXTENSION *, loc)
  X509_sign: { params: ["ptr", "ptr", "ptr"], result: "i32" }, // (X509 *, EVP_PKEY *, const EVP_MD *)
  X509_verify: { params: ["ptr", "ptr"], result: "i32" },
  X509_check_private_key: { params: ["ptr", "ptr"], result: "i32" },
  X509_alias_get0: { params: ["ptr", "buf"], result: "ptr" }, // (X509 *, int *len)
  BN_bin2bn: { params: ["buf", "i32", "ptr"], result: "ptr" },
  BN_bn2binpad: { params: ["ptr", "buf", "i32"], result: "i32" },
  BN_to_ASN1_INTEGER: { params: ["ptr", "ptr"], result: "ptr" }, // (BIGNUM *, ASN1_INTEGER *)
  BN_free: { params: ["ptr"], result: "void" },
  BN_new: { params: [], result: "ptr" },
  BN_is_zero: { params: ["ptr"], result: "i32" },
  BN_cmp: { params: ["ptr", "ptr"], result: "i32" },
  BN_rand_range: { params: ["ptr", "ptr"], result: "i32" },
  BN_CTX_new: { params: [], result: "ptr" },
  BN_CTX_free: { params: ["ptr"], result: "void" },

  // ---- CSR
  X509_REQ_new: { params: [], result: "ptr" },
  X509_REQ_free: { params: ["ptr"], result: "void" },
  X509_REQ_set_version: { params: ["ptr", "i64"], result: "i32" },
  X509_REQ_get_subject_name: { params: ["ptr"], result: "ptr" },
  X509_REQ_set_pubkey: { params: ["ptr", "ptr"], result: "i32" },
  X509_REQ_get_pubkey: { params: ["ptr"], result: "ptr" }, // new reference
  X509_REQ_add_extensions: { params: ["ptr", "ptr"], result: "i32" }, // (req, STACK_OF(X509_EXTENSION) *)
  X509_REQ_sign: { params: ["ptr", "ptr", "ptr"], result: "i32" },
  X509_REQ_verify: { params: ["ptr", "ptr"], result: "i32" },
  i2d_X509_REQ: { params: ["ptr", "buf"], result: "i32" },
  d2i_X509_REQ: { params: ["ptr", "buf", "i64"], result: "ptr" },

  // ---- stacks
  OPENSSL_sk_new_null: { params: [], result: "ptr" },
  OPENSSL_sk_push: { params: ["ptr", "ptr"], result: "i32" },
  OPENSSL_sk_num: { params: ["ptr"], result: "i32" },
  OPENSSL_sk_value: { params: ["ptr", "i32"], result: "ptr" },
  OPENSSL_sk_free: { params: ["ptr"], result: "void" },

  // ---- PKCS#12
  PKCS12_create: {
    // (const char *pass, const char *name, EVP_PKEY *, X509 *, STACK_OF(X509) *ca, int nid_key, int nid_cert, int iter, int mac_iter, int keytype)
    params: ["buf", "buf", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"],
    result: "ptr",
  },
  PKCS12_free: { params: ["ptr"], result: "void" },
  i2d_PKCS12: { params: ["ptr", "buf"], result: "i32" },
  d2i_PKCS12: { params: ["ptr", "buf", "i64"], result: "ptr" },
  PKCS12_verify_mac: { params: ["ptr", "buf", "i32"], result: "i32" },
  PKCS12_mac_present: { params: ["ptr"], result: "i32" },
  PKCS12_parse: { params: ["ptr", "buf", "buf", "buf", "buf"], result: "i32" }, // (p12, pass, EVP_PKEY **, X509 **, STACK_OF(X509) **)

  // ---- CMS
  CMS_sign: { params: ["ptr", "ptr", "ptr", "ptr", "u32"], result: "ptr" }, // (signcert, pkey, certs, BIO *data, flags)
  CMS_verify: { params: ["ptr", "ptr", "ptr", "ptr", "ptr", "u32"], result: "i32" }, // (cms, certs, store, dcont, out, flags)
  CMS_encrypt: { params: ["ptr", "ptr", "ptr", "u32"], result: "ptr" }, // (certs, BIO *in, cipher, flags)
  CMS_decrypt: { params: ["ptr", "ptr", "ptr", "ptr", "ptr", "u32"], result: "i32" }, // (cms, pkey, cert, dcont, out, flags)
  CMS_get1_certs: { params: ["ptr"], result: "ptr" }, // STACK_OF(X509) *
  CMS_ContentInfo_free: { params: ["ptr"], result: "void" },
  i2d_CMS_ContentInfo: { params: ["ptr", "buf"], result: "i32" },
  d2i_CMS_ContentInfo: { params: ["ptr", "buf", "i64"], result: "ptr" },
  X509_STORE_new: { params: [], result: "ptr" },
  X509_STORE_free: { params: ["ptr"], result: "void" },
  X509_STORE_add_cert: { params: ["ptr", "ptr"], result: "i32" },
  X509_STORE_set_purpose: { params: ["ptr", "i32"], result: "i32" }, // (store, X509_PURPOSE_*)

  // ---- EC points
  OBJ_sn2nid: { params: ["buf"], result: "i32" },
  EC_GROUP_new_by_curve_name: { params: ["i32"], result: "ptr" },
  EC_GROUP_free: { params: ["ptr"], result: "void" },
  EC_GROUP_get0_order: { params: ["ptr"], result: "ptr" }, // const BIGNUM *
  EC_GROUP_get_degree: { params: ["ptr"], result: "i32" },
  EC_POINT_new: { params: ["ptr"], result: "ptr" },
  EC_POINT_free: { params: ["ptr"], result: "void" },
  EC_POINT_oct2point: { params: ["ptr", "ptr", "buf", "usize", "ptr"], result: "i32" }, // (group, p, buf, len, bnctx)
  EC_POINT_point2oct: { params: ["ptr", "ptr", "i32", "buf", "usize", "ptr"], result: "usize" }, // (group, p, form, buf, len, ctx)
  EC_POINT_mul: { params: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr"], result: "i32" }, // (group, r, g_scalar, q, q_scalar, ctx)
  EC_POINT_add: { params: ["ptr", "ptr", "ptr", "ptr", "ptr"], result: "i32" }, // (group, r, a, b, ctx)
  EC_POINT_is_on_curve: { params: ["ptr", "ptr", "ptr"], result: "i32" },
  EC_POINT_is_at_infinity: { params: ["ptr", "ptr"], result: "i32" },
} as const satisfies SymbolTable;

/** `EVP_CIPHER_CTX_ctrl` commands. */
export const EVP_CTRL = { AEAD_SET_IVLEN: 0x9, AEAD_GET_TAG: 0x10, AEAD_SET_TAG: 0x11 } as const;

/** `EVP_PKEY_*` selections for encoders and decoders. */
export const SELECTION = { KEYPAIR: 0x87, PUBLIC_KEY: 0x86 } as const;

/** RSA paddings. */
export const RSA_PADDING = { PKCS1: 1, OAEP: 4, PSS: 6 } as const;

/** `NID_*` of the X.509v3 extensions we write. */
export const NID = {
  basic_constraints: 87,
  key_usage: 83,
  ext_key_usage: 126,
  subject_key_identifier: 82,
  authority_key_identifier: 90,
  subject_alt_name: 85,
} as const;

/** `MBSTRING_UTF8`. */
export const MBSTRING_UTF8 = 0x1000;

/** `CMS_*` flags. */
export const CMS_FLAGS = {
  NOCERTS: 0x2,
  NO_SIGNER_CERT_VERIFY: 0x20,
  DETACHED: 0x40,
  BINARY: 0x80,
  NOSMIMECAP: 0x200,
  PARTIAL: 0x4000,
} as const;

/** `POINT_CONVERSION_*`. */
export const POINT_FORM = { COMPRESSED: 2, UNCOMPRESSED: 4 } as const;
