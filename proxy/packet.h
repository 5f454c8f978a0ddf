/*
 * packet.h - MySQL packet framing and field codecs.
 *
 * Owns the wire format's building blocks: the 4-byte header (3-byte length, sequence id),
 * logical packets split into 0xFFFFFF-byte chunks, length-encoded integers and strings, and the
 * generic OK / ERR / EOF packets. Readers are bounds-checked cursors that return false on a short
 * buffer; writers record their first failure and are checked once. Nothing here touches a socket
 * or knows about sessions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define PKT_HEADER_LEN 4
#define PKT_MAX_CHUNK  0xFFFFFFu

/* Capability flags (protocol 4.1). */
#define CLIENT_LONG_PASSWORD                (1u << 0) /* also "CLIENT_MYSQL": no MariaDB extensions */
#define CLIENT_FOUND_ROWS                   (1u << 1)
#define CLIENT_LONG_FLAG                    (1u << 2)
#define CLIENT_CONNECT_WITH_DB              (1u << 3)
#define CLIENT_NO_SCHEMA                    (1u << 4)
#define CLIENT_COMPRESS                     (1u << 5)
#define CLIENT_ODBC                         (1u << 6)
#define CLIENT_LOCAL_FILES                  (1u << 7)
#define CLIENT_IGNORE_SPACE                 (1u << 8)
#define CLIENT_PROTOCOL_41                  (1u << 9)
#define CLIENT_INTERACTIVE                  (1u << 10)
#define CLIENT_SSL                          (1u << 11)
#define CLIENT_IGNORE_SIGPIPE               (1u << 12)
#define CLIENT_TRANSACTIONS                 (1u << 13)
#define CLIENT_SECURE_CONNECTION            (1u << 15)
#define CLIENT_MULTI_STATEMENTS             (1u << 16)
#define CLIENT_MULTI_RESULTS                (1u << 17)
#define CLIENT_PS_MULTI_RESULTS             (1u << 18)
#define CLIENT_PLUGIN_AUTH                  (1u << 19)
#define CLIENT_CONNECT_ATTRS                (1u << 20)
#define CLIENT_PLUGIN_AUTH_LENENC_DATA      (1u << 21)
#define CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS (1u << 22)
#define CLIENT_SESSION_TRACK                (1u << 23)
#define CLIENT_DEPRECATE_EOF                (1u << 24)

/* MariaDB's extended capabilities (the greeting's and login's reserved bytes). */
#define MARIADB_CLIENT_PROGRESS             (1u << 0)
#define MARIADB_CLIENT_STMT_BULK_OPERATIONS (1u << 2)
#define MARIADB_CLIENT_EXTENDED_METADATA    (1u << 3)
#define MARIADB_CLIENT_CACHE_METADATA       (1u << 4)

/* Server status flags. */
#define SERVER_STATUS_IN_TRANS       0x0001
#define SERVER_STATUS_AUTOCOMMIT     0x0002
#define SERVER_MORE_RESULTS_EXISTS   0x0008
#define SERVER_STATUS_CURSOR_EXISTS  0x0040
#define SERVER_STATUS_LAST_ROW_SENT  0x0080
#define SERVER_SESSION_STATE_CHANGED 0x4000

/* Command bytes. */
#define COM_QUIT                0x01
#define COM_INIT_DB             0x02
#define COM_QUERY               0x03
#define COM_FIELD_LIST          0x04
#define COM_STATISTICS          0x09
#define COM_PING                0x0e
#define COM_CHANGE_USER         0x11
#define COM_STMT_PREPARE        0x16
#define COM_STMT_EXECUTE        0x17
#define COM_STMT_SEND_LONG_DATA 0x18
#define COM_STMT_CLOSE          0x19
#define COM_STMT_RESET          0x1a
#define COM_SET_OPTION          0x1b
#define COM_STMT_FETCH          0x1c
#define COM_RESET_CONNECTION    0x1f
#define COM_STMT_BULK_EXECUTE   0xfa /* MariaDB: array binding */

/* Commands that run a statement: counted in /stats, rate-limited, timed. */
static inline bool pkt_is_statement(uint8_t cmd)
{
	return cmd == COM_QUERY || cmd == COM_STMT_EXECUTE || cmd == COM_STMT_BULK_EXECUTE;
}

/* Packet headers in replies. */
#define PKT_OK           0x00
#define PKT_EOF          0xfe
#define PKT_ERR          0xff
#define PKT_LOCAL_INFILE 0xfb

/* ---- reading ------------------------------------------------------------------------------ */

struct pkt_reader {
	const uint8_t *p;
	const uint8_t *end;
};

static inline struct pkt_reader pkt_reader_make(const uint8_t *buf, size_t len)
{
	return (struct pkt_reader){buf, buf + len};
}

static inline size_t pkt_remaining(const struct pkt_reader *r)
{
	return (size_t)(r->end - r->p);
}

bool pkt_get_u8(struct pkt_reader *r, uint8_t *out) __attribute__((warn_unused_result));
bool pkt_get_u16(struct pkt_reader *r, uint16_t *out) __attribute__((warn_unused_result));
bool pkt_get_u32(struct pkt_reader *r, uint32_t *out) __attribute__((warn_unused_result));
bool pkt_get_lenenc(struct pkt_reader *r, uint64_t *out) __attribute__((warn_unused_result));
bool pkt_get_bytes(struct pkt_reader *r, size_t n, const uint8_t **out)
    __attribute__((warn_unused_result));
bool pkt_skip(struct pkt_reader *r, size_t n) __attribute__((warn_unused_result));
/* A length-encoded string; *out points into the buffer (not NUL-terminated). */
bool pkt_get_lenenc_str(struct pkt_reader *r, const uint8_t **out, size_t *len)
    __attribute__((warn_unused_result));
/* A NUL-terminated string; fails if no NUL before the end. *out points into the buffer. */
bool pkt_get_nul_str(struct pkt_reader *r, const char **out, size_t *len)
    __attribute__((warn_unused_result));
/* Copies a NUL-terminated string into dst (cap bytes with the NUL); fails if it does not fit. */
bool pkt_get_nul_str_into(struct pkt_reader *r, char *dst, size_t cap)
    __attribute__((warn_unused_result));

/* ---- writing ------------------------------------------------------------------------------ */

/* Builds one packet (header included) in a caller-owned buffer; the first overflow sticks. */
struct pkt_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool failed;
};

void pkt_writer_init(struct pkt_writer *w, uint8_t *buf, size_t cap, uint8_t seq);
void pkt_put_u8(struct pkt_writer *w, uint8_t v);
void pkt_put_u16(struct pkt_writer *w, uint16_t v);
void pkt_put_u24(struct pkt_writer *w, uint32_t v);
void pkt_put_u32(struct pkt_writer *w, uint32_t v);
void pkt_put_lenenc(struct pkt_writer *w, uint64_t v);
void pkt_put_bytes(struct pkt_writer *w, const void *data, size_t n);
void pkt_put_zeros(struct pkt_writer *w, size_t n);
void pkt_put_nul_str(struct pkt_writer *w, const char *s);
void pkt_put_lenenc_str(struct pkt_writer *w, const void *data, size_t n);
/* Fills in the header's length; false if anything failed or the payload exceeds one chunk. */
bool pkt_writer_finish(struct pkt_writer *w) __attribute__((warn_unused_result));

/* ---- framing over libevent buffers --------------------------------------------------------- */

struct pkt_header {
	uint32_t len;
	uint8_t seq;
};

static inline struct pkt_header pkt_header_decode(const uint8_t h[PKT_HEADER_LEN])
{
	return (struct pkt_header){(uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16,
	                           h[3]};
}

/* Peeks at the header of the packet at the front of buf; false if fewer than 4 bytes. */
bool pkt_peek_header(struct evbuffer *buf, struct pkt_header *h);

/* A whole logical packet (one or more chunks) at the front of a buffer. */
struct pkt_frame {
	size_t wire_len;    /* headers included: what to move or drain */
	size_t payload_len; /* chunks' payloads added up */
	uint8_t seq;        /* of the first chunk */
	uint8_t last_seq;   /* of the last chunk */
	uint8_t first_byte; /* of the payload; 0 when empty */
	bool chunked;       /* more than one chunk: the payload is not contiguous on the wire */
};

enum pkt_frame_result { PKT_FRAME_READY, PKT_FRAME_PARTIAL, PKT_FRAME_TOO_LARGE };

/* Finds the logical packet at the front of buf without consuming it. */
enum pkt_frame_result pkt_frame(struct evbuffer *buf, size_t max_payload, struct pkt_frame *f);

/* ---- generic packets ----------------------------------------------------------------------- */

/* Appends an OK packet. caps decide the 4.1 layout; with CLIENT_DEPRECATE_EOF a result-set
 * terminator is an OK packet whose header byte is 0xFE (header argument). */
bool pkt_append_ok(struct evbuffer *out, uint8_t seq, uint8_t header, uint64_t affected,
                   uint64_t insert_id, uint16_t status, uint16_t warnings);
bool pkt_append_err(struct evbuffer *out, uint8_t seq, uint16_t code, const char *sqlstate,
                    const char *message);
bool pkt_append_eof(struct evbuffer *out, uint8_t seq, uint16_t warnings, uint16_t status);

/* Fields of an ERR packet's payload, pointing into it. */
struct pkt_err {
	uint16_t code;
	char sqlstate[6];
	const char *message;
	size_t message_len;
};
bool pkt_parse_err(const uint8_t *payload, size_t len, struct pkt_err *err)
    __attribute__((warn_unused_result));

/* Fields of an OK packet (header 0x00 or 0xFE) or an EOF packet that matter to the proxy. */
struct pkt_ok {
	uint64_t affected_rows;
	uint64_t last_insert_id;
	uint16_t status;
	uint16_t warnings;
};
bool pkt_parse_ok(const uint8_t *payload, size_t len, struct pkt_ok *ok)
    __attribute__((warn_unused_result));
bool pkt_parse_eof(const uint8_t *payload, size_t len, struct pkt_ok *eof)
    __attribute__((warn_unused_result));
/* In an OK packet of a connection with CLIENT_SESSION_TRACK, the new value of the tracked system
 * variable name, copied NUL-terminated into out; false when the packet does not report it. */
bool pkt_ok_tracked_variable(const uint8_t *payload, size_t len, const char *name, char *out,
                             size_t cap) __attribute__((warn_unused_result));

/* Makes the single-chunk packet at the front of buf contiguous and points payload at it
 * (valid until buf changes); the caller drains PKT_HEADER_LEN + h->len once done with it. */
enum pkt_frame_result pkt_peek_whole(struct evbuffer *buf, size_t max_payload, struct pkt_header *h,
                                     const uint8_t **payload);
