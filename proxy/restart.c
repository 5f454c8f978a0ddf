/*
 * restart.c - graceful restart (see restart.h).
 *
 *   old: SIGUSR2 ─ fork ─ exec new ──────────────────────────────── drain, exit 0
 *                           │ listen fd, stats fd, ready pipe          ▲
 *   new:                    └ adopt fds, start workers ─ write 1 byte ─┘ serve
 *
 * The fork happens in a threaded process, so the child only does async-signal-safe work: it
 * resets the signal handlers libevent installed, marks every descriptor close-on-exec except
 * the three it hands over, restores the signal mask and execs. Everything it needs (path,
 * argv, environment) is built before the fork.
 */
#include "restart.h"

#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#define FALLBACK_MAX_FD 65536

extern char **environ;

struct restart {
	struct event_base *base;
	char path[PATH_MAX];
	char **argv;
	pid_t pid;            /* the new process while it has not answered; 0 otherwise */
	struct event *answer; /* the ready pipe's read end, with the timeout */
	restart_done_cb done;
	void *arg;
};

struct restart *restart_create(struct event_base *base, int argc, char **argv)
{
	struct restart *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->base = base;
	const char *bin = getenv(RESTART_BIN_ENV);
	ssize_t n;
	if (bin && *bin)
		snprintf(r->path, sizeof(r->path), "%s", bin);
	else if ((n = readlink("/proc/self/exe", r->path, sizeof(r->path) - 1)) > 0)
		r->path[n] = '\0';
	else if (!realpath(argv[0], r->path))
		snprintf(r->path, sizeof(r->path), "%s", argv[0]);
	r->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!r->argv) {
		restart_free(r);
		return NULL;
	}
	for (int i = 0; i < argc; i++) {
		r->argv[i] = strdup(argv[i]);
		if (!r->argv[i]) {
			restart_free(r);
			return NULL;
		}
	}
	return r;
}

void restart_free(struct restart *r)
{
	if (!r)
		return;
	if (r->answer) {
		close(event_get_fd(r->answer));
		event_free(r->answer);
	}
	for (char **a = r->argv; a && *a; a++)
		free(*a);
	free(r->argv);
	free(r);
}

bool restart_pending(const struct restart *r)
{
	return r->pid > 0;
}

static bool handed_over_var(const char *entry)
{
	static const char *const names[] = {RESTART_LISTEN_ENV, RESTART_STATS_ENV,
	                                    RESTART_READY_ENV};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]);
		if (strncmp(entry, names[i], len) == 0 && entry[len] == '=')
			return true;
	}
	return false;
}

static void free_env(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* This process's environment with the three descriptors' variables set anew. */
static char **child_env(int listen_fd, int stats_fd, int ready_fd)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 4, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!handed_over_var(environ[i]) && !(env[k++] = strdup(environ[i])))
			goto fail;
	const char *names[] = {RESTART_LISTEN_ENV, RESTART_STATS_ENV, RESTART_READY_ENV};
	int fds[] = {listen_fd, stats_fd, ready_fd};
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0)
			continue;
		char buf[64];
		snprintf(buf, sizeof(buf), "%s=%d", names[i], fds[i]);
		if (!(env[k++] = strdup(buf)))
			goto fail;
	}
	return env;
fail:
	free_env(env);
	return NULL;
}

static void keep_open(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
}

/* After fork, in the child: only async-signal-safe calls until execve. */
static void exec_child(const struct restart *r, char **env, const int keep[3], const sigset_t *mask)
{
	static const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR2, SIGCHLD};
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &dfl, NULL);
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		for (int fd = 3; fd < FALLBACK_MAX_FD; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (int i = 0; i < 3; i++)
		keep_open(keep[i]);
	pthread_sigmask(SIG_SETMASK, mask, NULL);
	execve(r->path, r->argv, env);
	_exit(127);
}

static void finish(struct restart *r, bool ok)
{
	pid_t pid = r->pid;
	r->pid = 0;
	close(event_get_fd(r->answer));
	event_free(r->answer);
	r->answer = NULL;
	r->done(r->arg, pid, ok);
}

/* The new process failed: make sure it is gone, and say how it ended. */
static void reap(pid_t pid, const char *why)
{
	kill(pid, SIGKILL); /* harmless when it already exited: its status is kept */
	int status = 0;
	pid_t got;
	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	if (got == pid && WIFEXITED(status))
		log_error("restart: new process %d %s, exit status %d%s", (int)pid, why,
		          WEXITSTATUS(status),
		          WEXITSTATUS(status) == 127 ? " (could it be executed?)" : "");
	else if (got == pid && WIFSIGNALED(status))
		log_error("restart: new process %d %s, ended by signal %d", (int)pid, why,
		          WTERMSIG(status));
	else
		log_error("restart: new process %d %s", (int)pid, why);
}

static void on_answer(evutil_socket_t fd, short what, void *arg)
{
	struct restart *r = arg;
	char byte;
	ssize_t n = 0;
	if (what & EV_READ) {
		do
			n = read(fd, &byte, 1);
		while (n < 0 && errno == EINTR);
	}
	if (n == 1) {
		log_info("restart: new process %d is ready", (int)r->pid);
		finish(r, true);
		return;
	}
	if (what & EV_TIMEOUT)
		reap(r->pid, "did not become ready in time and was killed");
	else
		reap(r->pid, "exited before it was ready");
	finish(r, false);
}

void restart_cancel(struct restart *r)
{
	if (!r || r->pid <= 0)
		return;
	reap(r->pid, "was stopped: this process is shutting down");
	r->pid = 0;
	close(event_get_fd(r->answer));
	event_free(r->answer);
	r->answer = NULL;
}

bool restart_begin(struct restart *r, int listen_fd, int stats_fd, restart_done_cb done, void *arg)
{
	if (r->pid > 0) {
		log_warn("restart: already under way (new process %d)", (int)r->pid);
		return false;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		log_error("restart: cannot create a pipe: %s", strerror(errno));
		return false;
	}
	char **env = child_env(listen_fd, stats_fd, pipefd[1]);
	struct event *answer = event_new(r->base, pipefd[0], EV_READ, on_answer, r);
	if (!env || !answer) {
		log_error("restart: out of memory");
		free_env(env);
		if (answer)
			event_free(answer);
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler may run in the child */
	const int keep[3] = {listen_fd, stats_fd, pipefd[1]};
	pid_t pid = fork();
	if (pid == 0)
		exec_child(r, env, keep, &old);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free_env(env);
	close(pipefd[1]);
	if (pid < 0) {
		log_error("restart: cannot fork: %s", strerror(fork_errno));
		event_free(answer);
		close(pipefd[0]);
		return false;
	}
	log_info("restart: started %s as process %d; waiting until it is ready", r->path, (int)pid);
	r->pid = pid;
	r->answer = answer;
	r->done = done;
	r->arg = arg;
	struct timeval tv = {RESTART_READY_TIMEOUT_MS / 1000,
	                     (RESTART_READY_TIMEOUT_MS % 1000) * 1000};
	event_add(answer, &tv);
	return true;
}

/* ---- in the new process -------------------------------------------------------------------- */

static int env_fd(const char *env)
{
	const char *v = getenv(env);
	if (!v)
		return -1;
	char *end;
	errno = 0;
	long fd = strtol(v, &end, 10);
	bool valid = !errno && end != v && !*end && fd > STDERR_FILENO && fd < INT_MAX;
	if (!valid)
		log_warn("restart: ignoring %s=%s: not a descriptor", env, v);
	unsetenv(env);
	return valid ? (int)fd : -1;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int restart_inherited_fd(const char *env, const struct cfg_addr *a)
{
	int fd = env_fd(env);
	if (fd < 0)
		return -1;
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
		log_warn("restart: ignoring %s=%d: not a listening socket", env, fd);
		return -1;
	}
	int port = bound_port(fd);
	if (port != a->port) {
		log_warn("restart: the inherited socket listens on port %d, the configuration says "
		         "%s:%u: listening anew",
		         port, a->host, a->port);
		close(fd);
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		log_warn("restart: cannot set up the inherited socket %d: %s", fd, strerror(errno));
		close(fd);
		return -1;
	}
	log_info("restart: took over the listening socket on %s:%u (fd %d)", a->host, a->port, fd);
	return fd;
}

void restart_signal_ready(void)
{
	int fd = env_fd(RESTART_READY_ENV);
	if (fd < 0)
		return;
	ssize_t n;
	do
		n = write(fd, "R", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		log_warn("restart: cannot tell the old process this one is ready: %s",
		         strerror(errno));
	close(fd);
}
