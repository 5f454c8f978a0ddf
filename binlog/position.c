/*
 * position.c - GTID positions (see position.h).
 */
#include "position.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool position_parse(struct position *p, const char *text)
{
	memset(p, 0, sizeof(*p));
	return gtid_list_parse(text, strlen(text), p->gtids, POSITION_DOMAINS_MAX, &p->n);
}

bool position_advance(struct position *p, const struct gtid *gtid)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->gtids[i].domain == gtid->domain) {
			p->gtids[i] = *gtid;
			return true;
		}
	if (p->n == POSITION_DOMAINS_MAX)
		return false;
	p->gtids[p->n++] = *gtid;
	return true;
}

void position_format(const struct position *p, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < p->n && len < cap; i++) {
		int n =
		    snprintf(out + len, cap - len, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64,
		             i ? "," : "", p->gtids[i].domain, p->gtids[i].server, p->gtids[i].seq);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}
