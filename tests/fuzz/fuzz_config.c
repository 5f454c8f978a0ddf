/*
 * fuzz_config.c - the configuration parser (common/config.c) on arbitrary INI text.
 *
 * The input, NUL-terminated, is parsed as a whole config file. A config that loads must have
 * NUL-terminated strings where the parser filled fixed-size fields; one that fails must say
 * why. Either way nothing may leak (LeakSanitizer runs after every input).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define CHECK_STR(field) CHECK(strnlen(field, sizeof(field)) < sizeof(field))

static void check_config(const struct config *cfg)
{
	CHECK_STR(cfg->proxy.listen.host);
	CHECK_STR(cfg->primary.name);
	CHECK_STR(cfg->primary.address.host);
	CHECK_STR(cfg->monitor.user);
	CHECK_STR(cfg->monitor.password);
	CHECK_STR(cfg->cache.tables);
	CHECK(cfg->n_users > 0 && cfg->users);
	for (size_t i = 0; i < cfg->n_users; i++) {
		CHECK_STR(cfg->users[i].name);
		CHECK_STR(cfg->users[i].password);
		CHECK(config_find_user(cfg, cfg->users[i].name) != NULL);
	}
	for (size_t i = 0; i < cfg->n_replicas; i++) {
		CHECK_STR(cfg->replicas[i].name);
		CHECK_STR(cfg->replicas[i].address.host);
	}
	CHECK(strcmp(cfg_balance_str(cfg->routing.balance), "?") != 0);
	CHECK(strcmp(cfg_pin_mode_str(cfg->pinning.mode), "?") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[1024] = "";
	struct config *cfg = config_load_string("fuzz.conf", text, err, sizeof(err));
	if (cfg)
		check_config(cfg);
	else
		CHECK(err[0] != '\0');
	config_free(cfg);
	free(text);
	return 0;
}
