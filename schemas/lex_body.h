/* lex_body.h: helpers for message bodies (frame 2): reading fields from a
 * decoded msgpack map, packing common shapes, building ST bodies, and
 * removing named fields (redaction) anywhere in a body. */
#ifndef LEX_BODY_H
#define LEX_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "lex_buf.h"

/* Unpacks exactly one msgpack map from data into *up (caller must
 * msgpack_unpacked_destroy on success). LEX_EMSGPACK, LEX_ENOTMAP. */
int lex_body_parse(const void *data, size_t len, msgpack_unpacked *up);

/* Value for a string key in a map object, or NULL. */
const msgpack_object *lex_mp_get(const msgpack_object *map, const char *name);

/* Copies a string object into buf (NUL-terminated). LEX_ETYPE, LEX_ELENGTH,
 * LEX_EFORMAT (a NUL inside), LEX_EUTF8. */
int lex_mp_str(const msgpack_object *o, char *buf, size_t size);

/* Reads a non-negative integer. LEX_ETYPE. */
int lex_mp_uint(const msgpack_object *o, uint64_t *v);

/* 1 when o is a string equal to s. */
int lex_mp_str_eq(const msgpack_object *o, const char *s);

void lex_mp_pack_str(msgpack_packer *pk, const char *s);
void lex_mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
void lex_mp_pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v);

/* Appends an ST body {code, name, text} to out. */
int lex_status_body(lex_buf_t *out, int code, const char *text);

/* As lex_status_body, with a fourth field `dst` when dst is neither NULL
 * nor "": the query destination the status is about (docs/PROTOCOL.md,
 * "Status codes"). */
int lex_status_body_dst(lex_buf_t *out, int code, const char *text, const char *dst);

/* strict.c: 1 when the n bytes at s are valid UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF), else 0. */
int lex_utf8_valid(const char *s, size_t n);

/* Checks o and everything inside it: no map holds the same key twice
 * (LEX_EDUPLICATE), every str is valid UTF-8 (LEX_EUTF8); bin is not
 * looked at. 0, one of those, or LEX_ENOMEM. */
int lex_mp_check(const msgpack_object *o);

/* Reads an ST body. text may be NULL. */
int lex_status_parse(const void *data, size_t len, int *code, char *text, size_t textlen);

/* Copies body to out without any map entry whose key is one of fields,
 * at any depth. *removed counts the entries dropped. */
int lex_body_remove_fields(const void *data, size_t len, const char *const *fields,
                           size_t nfields, lex_buf_t *out, size_t *removed);

#endif
