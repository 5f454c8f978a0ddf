/*
 * stream.c - one non-blocking TCP socket (see stream.h).
 */
#include "stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

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
	if (!stream_flush(st)) {
		fail(st, st->error);
		return;
	}
	if (st->want_drained && evbuffer_get_length(st->out) < STREAM_LOW_WATERMARK) {
		st->want_drained = false;
		st->cb(st, STREAM_DRAINED, st->owner);
	}
}

bool stream_flush(struct stream *st)
{
	if (st->connecting)
		return true; /* the connect's write event flushes later */
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
	bool pending = evbuffer_get_length(st->out) > 0;
	if (pending != (event_pending(&st->wr, EV_WRITE, NULL) != 0)) {
		if (pending)
			event_add(&st->wr, NULL);
		else
			event_del(&st->wr);
	}
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
	close(st->fd);
	st->fd = -1;
	evbuffer_free(st->in);
	evbuffer_free(st->out);
	st->in = st->out = NULL;
	st->reading = false;
}

const char *stream_error_str(const struct stream *st)
{
	return strerror(st->error ? st->error : EIO);
}
