/*
 * sdnotify.c - the sd_notify datagram (see sdnotify.h).
 */
#include "sdnotify.h"

#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills addr for socket_path; returns the address length, or 0 for a name that is neither an
 * absolute path nor an abstract '@name', or does not fit. */
static socklen_t notify_address(struct sockaddr_un *addr, const char *socket_path)
{
	size_t len = strlen(socket_path);
	if ((socket_path[0] != '/' && socket_path[0] != '@') || len < 2 ||
	    len > sizeof(addr->sun_path))
		return 0;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, socket_path, len);
	if (addr->sun_path[0] == '@')
		addr->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

bool sdnotify_send_to(const char *socket_path, const char *state)
{
	struct sockaddr_un addr;
	socklen_t addrlen = notify_address(&addr, socket_path);
	if (!addrlen) {
		errno = EINVAL;
		return false;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	size_t len = strlen(state);
	ssize_t sent =
	    sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addrlen);
	int saved = errno;
	close(fd);
	errno = saved;
	return sent == (ssize_t)len;
}

void sdnotify(const char *state)
{
	const char *socket_path = getenv("NOTIFY_SOCKET");
	if (!socket_path || !*socket_path)
		return;
	if (!sdnotify_send_to(socket_path, state))
		log_warn("systemd: cannot send %s to %s: %s", state, socket_path, strerror(errno));
}
