/*
 * proxy.c - the process-wide context (see proxy.h): identity and the listening socket.
 */
#include "proxy.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Until the monitor has seen the primary, greet like a MariaDB of the supported series. */
#define FALLBACK_VERSION "5.5.5-10.11.0-MariaDB"
#define FALLBACK_CHARSET 8 /* latin1_swedish_ci, MariaDB's default */

void proxy_identity_init(struct proxy *p)
{
	pthread_mutex_init(&p->identity.lock, NULL);
	snprintf(p->identity.version, sizeof(p->identity.version), "%s", FALLBACK_VERSION);
	p->identity.charset = FALLBACK_CHARSET;
}

void proxy_identity_get(struct proxy *p, char *version, size_t len, uint8_t *charset)
{
	pthread_mutex_lock(&p->identity.lock);
	snprintf(version, len, "%s", p->identity.version);
	*charset = p->identity.charset;
	pthread_mutex_unlock(&p->identity.lock);
}

void proxy_identity_learn(struct proxy *p, const char *version, uint8_t charset)
{
	pthread_mutex_lock(&p->identity.lock);
	snprintf(p->identity.version, sizeof(p->identity.version), "%s", version);
	if (charset)
		p->identity.charset = charset;
	pthread_mutex_unlock(&p->identity.lock);
}

int proxy_listen(const struct cfg_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%u", a->port);
	int rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", a->host, a->port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}
