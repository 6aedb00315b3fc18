/* lex_limits.h: protocol limits (version 1). They are part of the wire
 * protocol (docs/PROTOCOL.md, "Limits"): a message breaking one is refused
 * with its own status code. */
#ifndef LEX_LIMITS_H
#define LEX_LIMITS_H

#define LEX_PROTOCOL_VERSION 1
#define LEX_ORI_LEN 9             /* an ORI is exactly 9 characters */
#define LEX_STATE_LEN 2           /* a state code is 2 letters */
#define LEX_KEY_MAX 8             /* longest message key (e.g. "WELCOME") */
#define LEX_CTL_MAX 32            /* sender's control field */
#define LEX_PURPOSE_MAX 4         /* purpose code */
#define LEX_DEST_MAX 16           /* destinations in one message */
#define LEX_MSG_MAX (256 * 1024)  /* envelope + body, bytes */
#define LEX_ENVELOPE_MAX 2048     /* envelope alone, bytes */
#define LEX_HELLO_ORIS_MAX 4096   /* ORIs one node may register */
#define LEX_HOPS_WIRE_MAX 255     /* largest hop count an envelope may carry */
#define LEX_HOPS_MAX 8            /* a query or AM that passed more switches is a loop */

#endif
