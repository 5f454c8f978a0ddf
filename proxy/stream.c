/*
 * stream.c - one non-blocking TCP socket, in plain text or TLS (see stream.h).
 *
 *   plain:  socket --recv--> in            out --writev--> socket
 *   TLS:    socket --BIO recv--> SSL_read --> in     out --> SSL_write --BIO send--> socket
 *
 * In TLS, one readiness may have to serve the other direction (a read that must first write,
 * a write that must first read): the tls_*_wants_* flags remember it and the other event
 * resumes it.
 */
#include "stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Plaintext handed to one SSL_write: a full TLS record. */
#define TLS_RECORD_MAX 16384

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);
static void tls_on_readable(struct stream *st);
static bool tls_on_writable(struct stream *st);
static bool tls_flush(struct stream *st);

static bool tune_socket(int fd)
{
	int one = 1;
	if (evutil_make_socket_nonblocking(fd) != 0)
		return false;
	/* Replies are small and latency-bound: never wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return true;
}

static bool stream_init(struct stream *st, struct event_base *base, int fd, size_t read_chunk,
                        stream_cb cb, void *owner)
{
	memset(st, 0, sizeof(*st));
	st->fd = fd;
	st->cb = cb;
	st->owner = owner;
	st->read_chunk = read_chunk;
	st->in = evbuffer_new();
	st->out = evbuffer_new();
	if (!st->in || !st->out || !tune_socket(fd) ||
	    event_assign(&st->rd, base, fd, EV_READ | EV_PERSIST, on_readable, st) != 0 ||
	    event_assign(&st->wr, base, fd, EV_WRITE | EV_PERSIST, on_writable, st) != 0) {
		if (st->in)
			evbuffer_free(st->in);
		if (st->out)
			evbuffer_free(st->out);
		st->in = st->out = NULL;
		close(fd);
		st->fd = -1;
		return false;
	}
	return true;
}

bool stream_accept(struct stream *st, struct event_base *base, int fd, size_t read_chunk,
                   stream_cb cb, void *owner)
{
	if (!stream_init(st, base, fd, read_chunk, cb, owner))
		return false;
	stream_resume_reading(st);
	return true;
}

bool stream_connect(struct stream *st, struct event_base *base, const struct sockaddr *addr,
                    socklen_t addrlen, size_t read_chunk, stream_cb cb, void *owner)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		st->fd = -1;
		st->error = errno;
		return false;
	}
	if (!stream_init(st, base, fd, read_chunk, cb, owner))
		return false;
	if (connect(fd, addr, addrlen) != 0 && errno != EINPROGRESS) {
		st->error = errno;
		return false;
	}
	st->connecting = true;
	return event_add(&st->wr, NULL) == 0;
}

void stream_set_owner(struct stream *st, stream_cb cb, void *owner)
{
	st->cb = cb;
	st->owner = owner;
}

static void fail(struct stream *st, int err)
{
	st->error = err;
	st->cb(st, STREAM_ERROR, st->owner);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct stream *st = arg;
	if (st->ssl) {
		tls_on_readable(st);
		return;
	}
	struct evbuffer_iovec vec;
	if (evbuffer_reserve_space(st->in, (ev_ssize_t)st->read_chunk, &vec, 1) != 1) {
		fail(st, ENOMEM);
		return;
	}
	ssize_t n = recv(fd, vec.iov_base, vec.iov_len, 0);
	if (n > 0) {
		vec.iov_len = (size_t)n;
		evbuffer_commit_space(st->in, &vec, 1);
		st->cb(st, STREAM_READABLE, st->owner);
	} else if (n == 0) {
		st->cb(st, STREAM_EOF, st->owner);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		fail(st, errno);
	}
}

static void finish_connect(struct stream *st)
{
	st->connecting = false;
	event_del(&st->wr);
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err) {
		fail(st, err);
		return;
	}
	stream_resume_reading(st);
	st->cb(st, STREAM_CONNECTED, st->owner);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct stream *st = arg;
	if (st->connecting) {
		finish_connect(st);
		return;
	}
	if (st->ssl && !tls_on_writable(st))
		return;
	if (!stream_flush(st)) {
		fail(st, st->error);
		return;
	}
	if (st->want_drained && evbuffer_get_length(st->out) < STREAM_LOW_WATERMARK) {
		st->want_drained = false;
		st->cb(st, STREAM_DRAINED, st->owner);
	}
}

static void arm_write(struct stream *st, bool want)
{
	if (want != (event_pending(&st->wr, EV_WRITE, NULL) != 0)) {
		if (want)
			event_add(&st->wr, NULL);
		else
			event_del(&st->wr);
	}
}

bool stream_flush(struct stream *st)
{
	if (st->connecting)
		return true; /* the connect's write event flushes later */
	if (st->ssl)
		return tls_flush(st);
	while (evbuffer_get_length(st->out) > 0) {
		int n = evbuffer_write(st->out, st->fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			st->error = errno;
			return false;
		}
		if (n == 0)
			break;
	}
	arm_write(st, evbuffer_get_length(st->out) > 0);
	return true;
}

void stream_pause_reading(struct stream *st)
{
	if (st->reading) {
		event_del(&st->rd);
		st->reading = false;
	}
}

void stream_resume_reading(struct stream *st)
{
	if (!st->reading && st->fd >= 0) {
		event_add(&st->rd, NULL);
		st->reading = true;
		/* Decrypted bytes held inside OpenSSL make no socket readable: fetch them. */
		if (st->ssl && !st->tls_handshaking && SSL_has_pending(st->ssl))
			event_active(&st->rd, EV_READ, 1);
	}
}

void stream_notify_drained(struct stream *st)
{
	st->want_drained = true;
}

bool stream_output_full(const struct stream *st)
{
	return evbuffer_get_length(st->out) >= STREAM_HIGH_WATERMARK;
}

void stream_close(struct stream *st)
{
	if (st->fd < 0)
		return;
	event_del(&st->rd);
	event_del(&st->wr);
	if (st->ssl) {
		/* A last close_notify, if the session is healthy and the socket takes it. */
		if (!st->tls_handshaking && !st->error && !st->tls_reason)
			(void)SSL_shutdown(st->ssl);
		ERR_clear_error();
		SSL_free(st->ssl);
		st->ssl = NULL;
	}
	if (st->tls_early) {
		evbuffer_free(st->tls_early);
		st->tls_early = NULL;
	}
	close(st->fd);
	st->fd = -1;
	evbuffer_free(st->in);
	evbuffer_free(st->out);
	st->in = st->out = NULL;
	st->reading = false;
}

const char *stream_error_str(const struct stream *st)
{
	if (st->tls_reason)
		return st->tls_reason;
	return strerror(st->error ? st->error : EIO);
}

/* ---- TLS ----------------------------------------------------------------------------------- */

/* The BIO under each SSL: recv and send on the stream's socket, after serving the bytes that
 * arrived before TLS started (tls_early). */
static int bio_read(BIO *b, char *buf, int len)
{
	struct stream *st = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (st->tls_early) {
		int n = evbuffer_remove(st->tls_early, buf, (size_t)len);
		if (evbuffer_get_length(st->tls_early) == 0) {
			evbuffer_free(st->tls_early);
			st->tls_early = NULL;
		}
		if (n > 0)
			return n;
	}
	ssize_t n = recv(st->fd, buf, (size_t)len, 0);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		BIO_set_retry_read(b);
	else
		st->error = errno;
	return -1;
}

static int bio_write(BIO *b, const char *buf, int len)
{
	struct stream *st = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	ssize_t n = send(st->fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		BIO_set_retry_write(b);
	else
		st->error = errno;
	return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* writes are never buffered here */
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_method_once = PTHREAD_ONCE_INIT;

static void bio_method_create(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice stream");
	if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl)) {
		bio_method = m;
		return;
	}
	BIO_meth_free(m);
}

bool stream_start_tls(struct stream *st, struct ssl_ctx_st *ctx)
{
	pthread_once(&bio_method_once, bio_method_create);
	if (!bio_method || st->fd < 0 || st->ssl)
		return false;
	SSL *ssl = SSL_new(ctx);
	BIO *bio = BIO_new(bio_method);
	if (!ssl || !bio) {
		SSL_free(ssl);
		BIO_free(bio);
		return false;
	}
	BIO_set_data(bio, st);
	BIO_set_init(bio, 1);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_accept_state(ssl);
	if (evbuffer_get_length(st->in) > 0) {
		st->tls_early = evbuffer_new();
		if (!st->tls_early || evbuffer_add_buffer(st->tls_early, st->in) != 0) {
			SSL_free(ssl);
			return false;
		}
	}
	st->ssl = ssl;
	st->tls_handshaking = true;
	stream_resume_reading(st);
	/* The client's first flight may already be here: start on the next loop turn, never
	 * inside the caller's callback. */
	if (st->tls_early)
		event_active(&st->rd, EV_READ, 1);
	return true;
}

bool stream_is_tls(const struct stream *st)
{
	return st->ssl != NULL;
}

void stream_tls_describe(const struct stream *st, char *out, size_t len)
{
	if (!st->ssl) {
		snprintf(out, len, "none");
		return;
	}
	snprintf(out, len, "%s %s", SSL_get_version(st->ssl), SSL_get_cipher_name(st->ssl));
}

/* A TLS failure: OpenSSL's reason if it has one, else the socket's errno, else a reset. */
static void tls_fail(struct stream *st, int ssl_err)
{
	unsigned long e = ERR_peek_last_error();
	if (ssl_err == SSL_ERROR_SSL && e)
		st->tls_reason = ERR_reason_error_string(e);
	ERR_clear_error();
	if (!st->tls_reason && !st->error)
		st->error = ECONNRESET;
	fail(st, st->error ? st->error : EPROTO);
}

static void tls_read(struct stream *st);

static void tls_handshake(struct stream *st)
{
	ERR_clear_error();
	int r = SSL_do_handshake(st->ssl);
	if (r == 1) {
		st->tls_handshaking = false;
		arm_write(st, evbuffer_get_length(st->out) > 0);
		tls_read(st); /* the client's first message may be in the same flight */
		return;
	}
	int err = SSL_get_error(st->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ: arm_write(st, false); return;
	case SSL_ERROR_WANT_WRITE: arm_write(st, true); return;
	case SSL_ERROR_ZERO_RETURN: st->cb(st, STREAM_EOF, st->owner); return;
	default: tls_fail(st, err); return;
	}
}

/* Decrypts up to read_chunk bytes into the input buffer; STREAM_READABLE if any came. */
static void tls_read(struct stream *st)
{
	size_t got = 0;
	int err = SSL_ERROR_WANT_READ;
	st->tls_read_wants_write = false;
	while (got < st->read_chunk) {
		struct evbuffer_iovec vec;
		if (evbuffer_reserve_space(st->in, (ev_ssize_t)st->read_chunk, &vec, 1) != 1) {
			fail(st, ENOMEM);
			return;
		}
		ERR_clear_error();
		int n = SSL_read(st->ssl, vec.iov_base,
		                 vec.iov_len > INT_MAX ? INT_MAX : (int)vec.iov_len);
		if (n <= 0) {
			err = SSL_get_error(st->ssl, n);
			break;
		}
		vec.iov_len = (size_t)n;
		evbuffer_commit_space(st->in, &vec, 1);
		got += (size_t)n;
	}
	if (got > 0) {
		/* An end or a failure right behind the data shows again on the next read. */
		if (err == SSL_ERROR_WANT_WRITE) {
			st->tls_read_wants_write = true;
			arm_write(st, true);
		} else if (err != SSL_ERROR_WANT_READ || SSL_has_pending(st->ssl)) {
			event_active(&st->rd, EV_READ, 1);
		}
		st->cb(st, STREAM_READABLE, st->owner);
		return;
	}
	switch (err) {
	case SSL_ERROR_WANT_READ: return;
	case SSL_ERROR_WANT_WRITE:
		st->tls_read_wants_write = true;
		arm_write(st, true);
		return;
	case SSL_ERROR_ZERO_RETURN: st->cb(st, STREAM_EOF, st->owner); return;
	default: tls_fail(st, err); return;
	}
}

static void tls_on_readable(struct stream *st)
{
	if (st->tls_handshaking) {
		tls_handshake(st);
		return;
	}
	if (st->tls_write_wants_read) {
		on_writable(st->fd, EV_WRITE, st);
		if (st->fd < 0)
			return;
	}
	if (st->reading)
		tls_read(st);
}

/* The TLS part of a writable socket; false when it took care of the event itself. */
static bool tls_on_writable(struct stream *st)
{
	if (st->tls_handshaking) {
		tls_handshake(st);
		return false;
	}
	if (st->tls_read_wants_write && st->reading) {
		tls_read(st);
		if (st->fd < 0 || !st->ssl)
			return false;
	}
	return true;
}

/* Encrypts the output buffer a record at a time. A write OpenSSL could not finish is retried
 * with the same bytes (the front of the buffer, unchanged until drained, maybe grown). */
static bool tls_flush(struct stream *st)
{
	if (st->tls_handshaking)
		return true; /* nothing is sent before the handshake ends */
	bool want_write = st->tls_read_wants_write;
	st->tls_write_wants_read = false;
	size_t len;
	while ((len = evbuffer_get_length(st->out)) > 0) {
		if (len > TLS_RECORD_MAX)
			len = TLS_RECORD_MAX;
		unsigned char *p = evbuffer_pullup(st->out, (ev_ssize_t)len);
		if (!p) {
			st->error = ENOMEM;
			return false;
		}
		ERR_clear_error();
		int n = SSL_write(st->ssl, p, (int)len);
		if (n > 0) {
			evbuffer_drain(st->out, (size_t)n);
			continue;
		}
		int err = SSL_get_error(st->ssl, n);
		if (err == SSL_ERROR_WANT_WRITE) {
			want_write = true;
			break;
		}
		if (err == SSL_ERROR_WANT_READ) {
			st->tls_write_wants_read = true;
			break;
		}
		unsigned long e = ERR_peek_last_error();
		if (err == SSL_ERROR_SSL && e)
			st->tls_reason = ERR_reason_error_string(e);
		ERR_clear_error();
		if (!st->error)
			st->error = st->tls_reason ? EPROTO : EPIPE;
		return false;
	}
	arm_write(st, want_write);
	return true;
}
