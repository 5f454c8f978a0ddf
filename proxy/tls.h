/*
 * tls.h - the process's TLS server context: [proxy] tls_cert and tls_key, loaded once.
 *
 * Owns the one SSL_CTX every client connection's TLS session is made from. main.c loads it
 * before the workers start (and --check-config loads it to validate the files); after that it
 * is only read, from any worker, which OpenSSL allows for SSL_new(). It must not do I/O on
 * connections: the per-connection SSL object and its reads and writes belong to stream.c.
 * A reload (SIGHUP) keeps the context loaded at start.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cfg_proxy;
struct ssl_ctx_st;

/* Loads cfg->tls_cert and cfg->tls_key (the key may be in the cert file when tls_key is
 * empty) into the process's context. Empty tls_cert: TLS stays off and this succeeds. On
 * failure, err says "file: reason". Call once, before any worker runs. */
bool tls_init(const struct cfg_proxy *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The server context, or NULL when no certificate is configured. */
struct ssl_ctx_st *tls_server_ctx(void);
/* Frees the context (at exit, after the workers are gone). */
void tls_free(void);
