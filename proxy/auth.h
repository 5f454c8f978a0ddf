/*
 * auth.h - mysql_native_password: scrambles, tokens and their verification.
 *
 * Owns the cryptography of the login exchange, both as a server (verifying a client's token
 * against the configured password) and as a client (computing the token a backend expects).
 * Pure functions over byte arrays; OpenSSL provides SHA-1 and the random bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_SCRAMBLE_LEN  20
#define AUTH_TOKEN_LEN     20
#define AUTH_NATIVE_PLUGIN "mysql_native_password"

/* Fills a fresh scramble: random bytes in 1..127, as servers send (no NUL inside). */
bool auth_make_scramble(uint8_t scramble[AUTH_SCRAMBLE_LEN]) __attribute__((warn_unused_result));

/* SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))); an empty password has an empty
 * token, so the function returns the token length (0 or AUTH_TOKEN_LEN). */
size_t auth_native_token(const char *password, const uint8_t scramble[AUTH_SCRAMBLE_LEN],
                         uint8_t token[AUTH_TOKEN_LEN]);

/* True when token is what a client knowing password computes for scramble. */
bool auth_native_verify(const char *password, const uint8_t scramble[AUTH_SCRAMBLE_LEN],
                        const uint8_t *token, size_t token_len);
