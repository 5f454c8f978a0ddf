/*
 * rlink.c - the Redis connection (see rlink.h).
 */
#include "rlink.h"

#include "log.h"

#include <stdarg.h>

void rlink_init(struct rlink *l, const struct cfg_addr *addr, int timeout_ms)
{
	*l = (struct rlink){.addr = *addr, .timeout_ms = timeout_ms, .was_up = true};
	backoff_reset(&l->backoff);
}

void rlink_close(struct rlink *l)
{
	if (l->ctx)
		redisFree(l->ctx);
	l->ctx = NULL;
}

static struct timeval tv_ms(int ms)
{
	return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

bool rlink_ready(struct rlink *l, int64_t now_ms)
{
	if (l->ctx)
		return true;
	if (!backoff_due(&l->backoff, now_ms))
		return false;
	redisContext *c = redisConnectWithTimeout(l->addr.host, l->addr.port, tv_ms(l->timeout_ms));
	if (!c || c->err || redisSetTimeout(c, tv_ms(l->timeout_ms)) != REDIS_OK) {
		int wait = backoff_failed(&l->backoff, now_ms);
		if (l->was_up || l->backoff.failures % 20 == 0)
			log_warn("redis %s:%u: %s; retrying in %d ms", l->addr.host, l->addr.port,
			         c ? c->errstr : "out of memory", wait);
		l->was_up = false;
		if (c)
			redisFree(c);
		return false;
	}
	if (!l->was_up)
		log_info("redis %s:%u: connected again", l->addr.host, l->addr.port);
	l->was_up = true;
	l->ctx = c;
	l->reconnects++;
	backoff_reset(&l->backoff);
	return true;
}

/* After a command: a NULL reply means the connection is gone. */
static redisReply *checked(struct rlink *l, void *reply)
{
	if (!reply) {
		log_warn("redis %s:%u: %s", l->addr.host, l->addr.port,
		         l->ctx ? l->ctx->errstr : "not connected");
		rlink_close(l); /* the next rlink_ready reconnects at once, then backs off */
		l->was_up = false;
	}
	return reply;
}

redisReply *rlink_argv(struct rlink *l, int argc, const char **argv, const size_t *lens)
{
	if (!l->ctx)
		return NULL;
	return checked(l, redisCommandArgv(l->ctx, argc, argv, lens));
}

redisReply *rlink_cmd(struct rlink *l, const char *fmt, ...)
{
	if (!l->ctx)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	void *reply = redisvCommand(l->ctx, fmt, ap);
	va_end(ap);
	return checked(l, reply);
}
