/*
 * auth.c - mysql_native_password (see auth.h).
 */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

bool auth_make_scramble(uint8_t scramble[AUTH_SCRAMBLE_LEN])
{
	if (RAND_bytes(scramble, AUTH_SCRAMBLE_LEN) != 1)
		return false;
	for (int i = 0; i < AUTH_SCRAMBLE_LEN; i++)
		scramble[i] = (uint8_t)(scramble[i] % 127 + 1);
	return true;
}

size_t auth_native_token(const char *password, const uint8_t scramble[AUTH_SCRAMBLE_LEN],
                         uint8_t token[AUTH_TOKEN_LEN])
{
	size_t plen = strlen(password);
	if (plen == 0)
		return 0;
	uint8_t stage1[SHA_DIGEST_LENGTH], stage2[SHA_DIGEST_LENGTH], mix[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)password, plen, stage1);
	SHA1(stage1, sizeof(stage1), stage2);
	uint8_t salted[AUTH_SCRAMBLE_LEN + SHA_DIGEST_LENGTH];
	memcpy(salted, scramble, AUTH_SCRAMBLE_LEN);
	memcpy(salted + AUTH_SCRAMBLE_LEN, stage2, sizeof(stage2));
	SHA1(salted, sizeof(salted), mix);
	for (int i = 0; i < AUTH_TOKEN_LEN; i++)
		token[i] = stage1[i] ^ mix[i];
	OPENSSL_cleanse(stage1, sizeof(stage1));
	return AUTH_TOKEN_LEN;
}

bool auth_native_verify(const char *password, const uint8_t scramble[AUTH_SCRAMBLE_LEN],
                        const uint8_t *token, size_t token_len)
{
	uint8_t expected[AUTH_TOKEN_LEN];
	size_t n = auth_native_token(password, scramble, expected);
	return n == token_len && CRYPTO_memcmp(expected, token, n) == 0;
}
