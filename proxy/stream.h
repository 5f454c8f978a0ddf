/*
 * stream.h - one non-blocking TCP socket with its libevent events and buffers.
 *
 * The transport layer: it owns the fd, the read and write events and the two evbuffers, and
 * reports what happens to one protocol callback as typed events. Reads go straight into the
 * input buffer (one recv per readiness); writes are tried at once by stream_flush() and only
 * fall back to a write event when the socket is full, so a small reply costs one syscall.
 * The protocol code (session.c, server.c) never touches the socket.
 *
 * TLS lives here too: after stream_start_tls() the stream owns an SSL object whose reads and
 * writes go straight to the socket (a small BIO of our own, so no extra copy); on_readable
 * decrypts into the input buffer and stream_flush() encrypts from the output buffer, with
 * OpenSSL's WANT_READ / WANT_WRITE mapped onto the same two events. The protocol above sees
 * the same plaintext buffers and the same events either way. A plain stream pays one pointer
 * check per read and per flush.
 */
#pragma once

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct evbuffer;
struct ssl_st;
struct ssl_ctx_st;

enum stream_event {
	STREAM_READABLE, /* new bytes in the input buffer */
	STREAM_DRAINED,  /* the output fell below the low watermark after stream_notify_drained() */
	STREAM_CONNECTED, /* an outgoing connect finished */
	STREAM_EOF,       /* the peer closed its side */
	STREAM_ERROR,     /* a socket error; stream_error_str() says which */
};

struct stream;
typedef void (*stream_cb)(struct stream *st, enum stream_event ev, void *owner);

/* Output above this much makes a producer pause (back-pressure); below LOW it resumes. */
#define STREAM_HIGH_WATERMARK (256 * 1024)
#define STREAM_LOW_WATERMARK  (64 * 1024)

struct stream {
	int fd;
	struct event rd;
	struct event wr;
	struct evbuffer *in;
	struct evbuffer *out;
	stream_cb cb;
	void *owner;
	size_t read_chunk;
	int error;
	bool connecting;
	bool reading;
	bool want_drained;
	/* TLS (NULL: plain TCP) */
	struct ssl_st *ssl;
	struct evbuffer *tls_early; /* bytes read before TLS started: the start of its handshake */
	const char *tls_reason;     /* OpenSSL's reason for the last TLS failure (static text) */
	bool tls_handshaking;
	bool tls_read_wants_write; /* SSL_read needs the socket writable to go on */
	bool tls_write_wants_read; /* SSL_write needs the socket readable to go on */
};

/* Adopts an accepted socket. Fails (and closes fd) if buffers cannot be allocated. */
bool stream_accept(struct stream *st, struct event_base *base, int fd, size_t read_chunk,
                   stream_cb cb, void *owner) __attribute__((warn_unused_result));
/* Starts a non-blocking connect; STREAM_CONNECTED or STREAM_ERROR follows (the caller owns
 * the deadline). On false, st->error says why; stream_close() still releases the stream. */
bool stream_connect(struct stream *st, struct event_base *base, const struct sockaddr *addr,
                    socklen_t addrlen, size_t read_chunk, stream_cb cb, void *owner)
    __attribute__((warn_unused_result));
/* Hands the stream's events to another owner (a server connection moving to a session). */
void stream_set_owner(struct stream *st, stream_cb cb, void *owner);
/* Writes what it can now; arms the write event for the rest. False on a socket error. */
bool stream_flush(struct stream *st) __attribute__((warn_unused_result));
void stream_pause_reading(struct stream *st);
void stream_resume_reading(struct stream *st);
/* Asks for one STREAM_DRAINED once the output falls below STREAM_LOW_WATERMARK. */
void stream_notify_drained(struct stream *st);
bool stream_output_full(const struct stream *st);
/* Switches an accepted stream to TLS as the server, after the protocol's own "let us switch"
 * message. Bytes already in the input buffer are the first of the client's TLS handshake.
 * The handshake runs on the stream's events; the next STREAM_READABLE brings decrypted bytes,
 * STREAM_ERROR a failed handshake (stream_error_str() names OpenSSL's reason). */
bool stream_start_tls(struct stream *st, struct ssl_ctx_st *ctx)
    __attribute__((warn_unused_result));
bool stream_is_tls(const struct stream *st);
/* The negotiated protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384"), for logs. */
void stream_tls_describe(const struct stream *st, char *out, size_t len);
/* Closes the socket and frees the buffers; the struct may be reused or freed after. */
void stream_close(struct stream *st);
const char *stream_error_str(const struct stream *st);
