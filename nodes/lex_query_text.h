/* lex_query_text.h: messages as text, for people: building a body from
 * `field=value` words (typed by the catalogue), printing a received message
 * as one JSON object, and running a scenario file of queries. Used by
 * `lexctl send` and `lexnode agency --scenario`. */
#ifndef LEX_QUERY_TEXT_H
#define LEX_QUERY_TEXT_H

#include <stdio.h>
#include <msgpack.h>
#include "lex_buf.h"
#include "lex_node.h"

/* Packs a body for key from words "field=value". err gets the reason. */
int lex_query_body_from_words(const char *key, char *const *words, int nwords, lex_buf_t *body,
                              char *err, size_t errlen);

/* Writes n bytes of s as a JSON string, quoted and escaped. */
void lex_json_write_string(FILE *f, const char *s, size_t n);

/* The same for a NUL-terminated string. */
void lex_json_write_cstr(FILE *f, const char *s);

/* Prints a msgpack object as JSON (binary fields as their size). */
void lex_msgpack_print_json(FILE *f, const msgpack_object *o);

/* Prints a message as one line of JSON (binary fields as their size). */
void lex_message_print_json(FILE *f, const lex_message_t *m);

/* Sends one query and waits for every answer (one per destination).
 * Prints each answer with lex_message_print_json. A held-for-review status
 * counts as the answer unless wait_review is set, in which case it waits on
 * for the answer that follows the state's review. Returns 0 when all
 * answers came, LEX_ETIMEOUT otherwise. */
int lex_query_send_and_wait(lex_node_t *node, lex_envelope_t *env, const void *body,
                            size_t body_len, int timeout_ms, int wait_review, FILE *out,
                            int *answers);

/* Runs a scenario: each line `ORI KEY DEST[,DEST...] [field=value ...]`
 * ('#' comments; purpose=P sets the purpose code). The node must speak
 * for every ORI named. Returns the number of failed lines, or < 0. */
int lex_scenario_run(lex_node_t *node, const char *path, int timeout_ms, FILE *out);

/* Collects the distinct ORIs named in a scenario file (caller frees
 * *oris with free()); returns the count or a negative LEX_E* code. */
int lex_scenario_oris(const char *path, char (**oris)[10]);

#endif
