/*
 * tls.c - the process's TLS server context (see tls.h).
 */
#include "tls.h"

#include "config.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static SSL_CTX *server_ctx;

/* "file: reason" from OpenSSL's error queue (or errno when the file cannot be read at all). */
static bool load_failed(const char *what, const char *path, char *err, size_t errlen)
{
	/* The first error queued is the cause ("no start line"); the last one only says "PEM lib".
	 */
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	if (access(path, R_OK) != 0)
		reason = strerror(errno);
	else if (reason && strcmp(reason, "no start line") == 0)
		reason = "not a PEM file (no start line)";
	snprintf(err, errlen, "%s: cannot load [proxy] %s: %s", path, what,
	         reason ? reason : "unknown OpenSSL error");
	ERR_clear_error();
	return false;
}

static SSL_CTX *ctx_create(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No renegotiation: a write never has to wait for a read. A peer that closes without
	 * close_notify is an ordinary EOF, as on a plain socket. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* stream.c retries a write from an evbuffer that may have moved and grown; idle
	 * connections give their record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	/* Clients reconnect with a full handshake: no session cache, no tickets to keep. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

bool tls_init(const struct cfg_proxy *cfg, char *err, size_t errlen)
{
	const char *cert = cfg->tls_cert;
	const char *key = cfg->tls_key[0] ? cfg->tls_key : cfg->tls_cert;
	if (!cert[0]) {
		if (cfg->tls_key[0]) {
			snprintf(err, errlen, "%s: [proxy] tls_key is set but tls_cert is empty",
			         cfg->tls_key);
			return false;
		}
		return true;
	}
	ERR_clear_error();
	SSL_CTX *ctx = ctx_create();
	if (!ctx) {
		snprintf(err, errlen, "%s: cannot create a TLS context", cert);
		return false;
	}
	bool ok = false;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		load_failed("tls_cert", cert, err, errlen);
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		load_failed("tls_key", key, err, errlen);
	else if (SSL_CTX_check_private_key(ctx) != 1)
		snprintf(err, errlen, "%s: [proxy] tls_key does not match tls_cert %s", key, cert);
	else
		ok = true;
	ERR_clear_error();
	if (!ok) {
		SSL_CTX_free(ctx);
		return false;
	}
	SSL_CTX_free(server_ctx);
	server_ctx = ctx;
	return true;
}

struct ssl_ctx_st *tls_server_ctx(void)
{
	return server_ctx;
}

void tls_free(void)
{
	SSL_CTX_free(server_ctx);
	server_ctx = NULL;
}
