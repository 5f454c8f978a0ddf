/*
 * test_tls.c - unit tests for proxy/tls.c (loading [proxy] tls_cert / tls_key) and the TLS
 * path of proxy/stream.c, over a socketpair against an OpenSSL client in a thread.
 *
 * The stream test does what login.c does: a few plaintext bytes (the "SSLRequest"), then TLS
 * started with the client's first flight already read into the input buffer; then an echo of
 * a few MB with back-pressure, which the client reads only after its writes have stalled.
 * Fixtures: fixtures/tls_cert.pem, fixtures/tls_key.pem (self-signed P-256, CN=localhost).
 */
#include "config.h"
#include "stream.h"
#include "tls.h"

#include "check_main.h"

#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIXTURE(name) SLUICE_FIXTURES "/" name
#define PREFIX        "HELLO"
#define ECHO_BYTES    (4u * 1024 * 1024)

static bool load(const char *cert, const char *key, char *err, size_t len)
{
	struct cfg_proxy cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "%s", cert);
	snprintf(cfg.tls_key, sizeof(cfg.tls_key), "%s", key);
	err[0] = '\0';
	return tls_init(&cfg, err, len);
}

START_TEST(test_no_cert_no_tls)
{
	char err[256];
	ck_assert(load("", "", err, sizeof(err)));
	ck_assert_ptr_null(tls_server_ctx());
	ck_assert(!load("", FIXTURE("tls_key.pem"), err, sizeof(err)));
	ck_assert_msg(strstr(err, "tls_key is set but tls_cert is empty") != NULL, "%s", err);
}
END_TEST

START_TEST(test_load_errors_name_the_file)
{
	char err[512];
	ck_assert(!load("/nonexistent/cert.pem", FIXTURE("tls_key.pem"), err, sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/cert.pem: cannot load [proxy] tls_cert: "
	                      "No such file or directory");
	ck_assert(!load(FIXTURE("tls_cert.pem"), "/nonexistent/key.pem", err, sizeof(err)));
	ck_assert_str_eq(err, "/nonexistent/key.pem: cannot load [proxy] tls_key: "
	                      "No such file or directory");
	/* a file that is not PEM at all */
	ck_assert(!load(FIXTURE("README.md"), FIXTURE("tls_key.pem"), err, sizeof(err)));
	ck_assert_msg(strncmp(err, FIXTURE("README.md") ": cannot load [proxy] tls_cert: ",
	                      strlen(FIXTURE("README.md") ": cannot load [proxy] tls_cert: ")) == 0,
	              "%s", err);
	/* the certificate as its own key */
	ck_assert(!load(FIXTURE("tls_cert.pem"), FIXTURE("tls_cert.pem"), err, sizeof(err)));
	ck_assert_msg(strncmp(err, FIXTURE("tls_cert.pem") ": cannot load [proxy] tls_key: ",
	                      strlen(FIXTURE("tls_cert.pem") ": cannot load [proxy] tls_key: ")) ==
	                  0,
	              "%s", err);
	ck_assert_ptr_null(tls_server_ctx());
}
END_TEST

START_TEST(test_load_good)
{
	char err[256];
	ck_assert_msg(load(FIXTURE("tls_cert.pem"), FIXTURE("tls_key.pem"), err, sizeof(err)), "%s",
	              err);
	ck_assert_ptr_nonnull(tls_server_ctx());
	tls_free();
	ck_assert_ptr_null(tls_server_ctx());
}
END_TEST

/* ---- the stream over TLS --------------------------------------------------------------- */

struct echo {
	struct event_base *base;
	struct stream st;
	bool tls_started;
	bool had_early; /* the ClientHello was already in the input when TLS started */
	int pauses;
	bool eof;
	char error[128];
};

static void on_server(struct stream *st, enum stream_event ev, void *arg)
{
	struct echo *e = arg;
	switch (ev) {
	case STREAM_READABLE:
		if (!e->tls_started) {
			if (evbuffer_get_length(st->in) < strlen(PREFIX))
				return;
			evbuffer_drain(st->in, strlen(PREFIX));
			e->had_early = evbuffer_get_length(st->in) > 0;
			ck_assert(stream_start_tls(st, tls_server_ctx()));
			ck_assert(stream_is_tls(st));
			e->tls_started = true;
			return;
		}
		evbuffer_add_buffer(st->out, st->in);
		if (!stream_flush(st)) {
			snprintf(e->error, sizeof(e->error), "flush: %s", stream_error_str(st));
			event_base_loopbreak(e->base);
			return;
		}
		if (stream_output_full(st)) {
			e->pauses++;
			stream_pause_reading(st);
			stream_notify_drained(st);
		}
		return;
	case STREAM_DRAINED: stream_resume_reading(st); return;
	case STREAM_EOF:
		e->eof = true;
		event_base_loopbreak(e->base);
		return;
	case STREAM_ERROR:
		snprintf(e->error, sizeof(e->error), "%s", stream_error_str(st));
		event_base_loopbreak(e->base);
		return;
	case STREAM_CONNECTED: return;
	}
}

struct client {
	int fd;
	bool garbage; /* send junk instead of a ClientHello */
	char error[128];
	size_t echoed;
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	if (write(c->fd, PREFIX, strlen(PREFIX)) != (ssize_t)strlen(PREFIX))
		return NULL;
	if (c->garbage) {
		static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
		if (write(c->fd, junk, sizeof(junk)) < 0)
			snprintf(c->error, sizeof(c->error), "write: %s", strerror(errno));
		char buf[256];
		while (read(c->fd, buf, sizeof(buf)) > 0) {
		}
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, c->fd);
	if (SSL_connect(ssl) != 1) {
		snprintf(c->error, sizeof(c->error), "SSL_connect failed");
		goto out;
	}
	/* Non-blocking from here: write until the proxy side stalls, then read and write. */
	if (evutil_make_socket_nonblocking(c->fd) != 0)
		goto out;
	size_t sent = 0, got = 0;
	bool reading = false;
	static uint8_t out[8192], in[16384];
	while (got < ECHO_BYTES) {
		while (sent < ECHO_BYTES) {
			size_t n =
			    ECHO_BYTES - sent < sizeof(out) ? ECHO_BYTES - sent : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = pattern(sent + i);
			int w = SSL_write(ssl, out, (int)n);
			if (w <= 0) {
				int err = SSL_get_error(ssl, w);
				if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) {
					snprintf(c->error, sizeof(c->error), "SSL_write: %d", err);
					goto out;
				}
				break;
			}
			sent += (size_t)w;
		}
		if (reading) {
			int r = SSL_read(ssl, in, sizeof(in));
			if (r > 0) {
				for (int i = 0; i < r; i++)
					if (in[i] != pattern(got + (size_t)i)) {
						snprintf(c->error, sizeof(c->error),
						         "byte %zu differs", got + (size_t)i);
						goto out;
					}
				got += (size_t)r;
				continue;
			}
			int err = SSL_get_error(ssl, r);
			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
				snprintf(c->error, sizeof(c->error), "SSL_read: %d", err);
				goto out;
			}
		}
		/* Until then, only writability counts: the echo piles up unread. */
		struct pollfd p = {.fd = c->fd,
		                   .events = (short)(reading ? POLLIN | POLLOUT : POLLOUT)};
		if (poll(&p, 1, reading ? 1000 : 200) == 0) {
			if (reading) {
				snprintf(c->error, sizeof(c->error), "stalled at %zu of %u", got,
				         ECHO_BYTES);
				goto out;
			}
			reading = true; /* writes stalled: the proxy side must have paused */
		}
		if (sent == ECHO_BYTES)
			reading = true;
	}
	c->echoed = got;
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void run_echo(bool garbage, struct echo *e, struct client *c)
{
	char err[256];
	signal(SIGPIPE,
	       SIG_IGN); /* as sluice does: a peer gone mid-write is an error, not a death */
	ck_assert_msg(load(FIXTURE("tls_cert.pem"), FIXTURE("tls_key.pem"), err, sizeof(err)), "%s",
	              err);
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(e, 0, sizeof(*e));
	memset(c, 0, sizeof(*c));
	e->base = event_base_new();
	ck_assert(stream_accept(&e->st, e->base, sv[0], 16 * 1024, on_server, e));
	c->fd = sv[1];
	c->garbage = garbage;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, client_main, c), 0);
	usleep(200 * 1000); /* the prefix and the ClientHello arrive together */
	struct timeval limit = {30, 0};
	event_base_loopexit(e->base, &limit);
	event_base_dispatch(e->base);
	stream_close(&e->st);
	pthread_join(t, NULL);
	close(sv[1]);
	event_base_free(e->base);
	tls_free();
}

START_TEST(test_stream_echo_over_tls)
{
	struct echo e;
	struct client c;
	run_echo(false, &e, &c);
	ck_assert_msg(c.error[0] == '\0', "client: %s", c.error);
	ck_assert_msg(e.error[0] == '\0', "server: %s", e.error);
	ck_assert(e.tls_started);
	ck_assert(e.had_early);
	ck_assert_uint_eq(c.echoed, ECHO_BYTES);
	ck_assert_int_gt(e.pauses, 0); /* back-pressure was exercised */
	ck_assert(e.eof);
}
END_TEST

START_TEST(test_stream_garbage_instead_of_tls)
{
	struct echo e;
	struct client c;
	run_echo(true, &e, &c);
	ck_assert(e.tls_started);
	ck_assert_msg(e.error[0] != '\0', "no error for a non-TLS peer");
	ck_assert(!e.eof);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_no_cert_no_tls);
	tcase_add_test(tc, test_load_errors_name_the_file);
	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_stream_echo_over_tls);
	tcase_add_test(tc, test_stream_garbage_instead_of_tls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
