/*
 * test_sdnotify.c - the sd_notify datagram (common/sdnotify.c), received by a socket standing
 * in for systemd: a path socket, an abstract one, $NOTIFY_SOCKET, and names it must refuse.
 */
#include "check_main.h"
#include "sdnotify.h"

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound to name ("/path" or "@abstract"), as systemd's would be. */
static int listen_notify(const char *name)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	ck_assert_uint_lt(len, sizeof(addr.sun_path));
	memcpy(addr.sun_path, name, len);
	if (name[0] == '@')
		addr.sun_path[0] = '\0';
	socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, addrlen), 0);
	return fd;
}

/* The next datagram on fd, NUL-terminated in buf, or "" if none is waiting. */
static const char *receive(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void path_name(char *out, size_t len)
{
	snprintf(out, len, "/tmp/sluice-sdnotify-%d.sock", (int)getpid());
	unlink(out);
}

START_TEST(sends_to_a_path)
{
	char name[108], buf[256];
	path_name(name, sizeof(name));
	int fd = listen_notify(name);
	ck_assert(sdnotify_send_to(name, "READY=1"));
	ck_assert_str_eq(receive(fd, buf, sizeof(buf)), "READY=1");
	close(fd);
	unlink(name);
}
END_TEST

START_TEST(sends_to_an_abstract_name)
{
	char name[108], buf[256];
	snprintf(name, sizeof(name), "@sluice-sdnotify-test-%d", (int)getpid());
	int fd = listen_notify(name);
	ck_assert(sdnotify_send_to(name, "STOPPING=1"));
	ck_assert_str_eq(receive(fd, buf, sizeof(buf)), "STOPPING=1");
	ck_assert(sdnotify_send_to(name, "STATUS=draining\nREADY=1"));
	ck_assert_str_eq(receive(fd, buf, sizeof(buf)), "STATUS=draining\nREADY=1");
	close(fd);
}
END_TEST

START_TEST(follows_notify_socket)
{
	char name[108], buf[256];
	snprintf(name, sizeof(name), "@sluice-sdnotify-env-%d", (int)getpid());
	int fd = listen_notify(name);
	setenv("NOTIFY_SOCKET", name, 1);
	sdnotify("READY=1");
	ck_assert_str_eq(receive(fd, buf, sizeof(buf)), "READY=1");
	unsetenv("NOTIFY_SOCKET");
	sdnotify("STOPPING=1"); /* outside systemd: nothing is sent, nothing fails */
	ck_assert_str_eq(receive(fd, buf, sizeof(buf)), "");
	close(fd);
}
END_TEST

START_TEST(refuses_bad_names)
{
	static const char *bad[] = {"", "@", "relative.sock", "tmp/notify"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_msg(!sdnotify_send_to(bad[i], "READY=1"), "accepted %s", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
	}
	char long_name[200];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[0] = '/';
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert(!sdnotify_send_to(long_name, "READY=1"));
}
END_TEST

START_TEST(reports_nobody_listening)
{
	char name[108];
	path_name(name, sizeof(name));
	ck_assert(!sdnotify_send_to(name, "READY=1"));
	ck_assert(errno == ENOENT || errno == ECONNREFUSED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *tc = tcase_create("datagram");
	tcase_add_test(tc, sends_to_a_path);
	tcase_add_test(tc, sends_to_an_abstract_name);
	tcase_add_test(tc, follows_notify_socket);
	tcase_add_test(tc, refuses_bad_names);
	tcase_add_test(tc, reports_nobody_listening);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
