/*
 * main.c - the sluice daemon: command line, start-up, signals and orderly shutdown.
 *
 * The main thread owns the process: it loads the config, opens the listening socket, starts
 * the monitor and the workers, serves the stats endpoint on its own event loop, and turns
 * SIGTERM/SIGINT into a drain (stop accepting, let running statements finish within
 * shutdown_timeout_ms) followed by exit 0. It handles no client traffic itself.
 *
 * SIGUSR2 is a graceful restart (restart.c): once the new process says it accepts on the same
 * sockets, this one stops accepting and serves its sessions until their clients leave (within
 * shutdown_timeout_ms), then exits 0. A restart that fails leaves this process serving.
 */
#include "backend.h"
#include "config.h"
#include "log.h"
#include "monitor.h"
#include "proxy.h"
#include "restart.h"
#include "sdnotify.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SHUTDOWN_POLL_MS 20

/* RUNNING -> DRAINING on SIGTERM; RUNNING -> HANDED_OVER -> (SIGTERM) DRAINING on restart. */
enum daemon_phase { DAEMON_RUNNING, DAEMON_HANDED_OVER, DAEMON_DRAINING };

struct daemon {
	struct proxy proxy;
	const char *config_path;
	struct event_base *base;
	struct event *sigterm, *sigint, *sighup, *sigusr2, *poll, *deadline;
	enum daemon_phase phase;
	struct stats_server *stats;
	int stats_fd; /* owned by stats; kept to hand over */
	struct restart *restart;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: sluice -c FILE [--check-config]\n"
	        "       sluice --version | --help | --config-reference\n"
	        "\n"
	        "  -c, --config FILE     configuration file (INI; see docs/configuration.md)\n"
	        "      --check-config    validate the configuration and exit (0 valid, 1 not)\n"
	        "      --config-reference print every configuration key as Markdown and exit\n"
	        "  -V, --version         print the version and exit\n"
	        "  -h, --help            print this help and exit\n"
	        "\n"
	        "Runs in the foreground and logs to stderr. SIGHUP reloads the file (replicas,\n"
	        "weights, users, monitor thresholds). SIGTERM or SIGINT stop accepting,\n"
	        "let running statements finish (up to [proxy] shutdown_timeout_ms) and exit 0.\n"
	        "SIGUSR2 starts the binary again on the same sockets; once it serves, this\n"
	        "process stops accepting, finishes its sessions and exits 0.\n");
}

static struct timeval ms_to_tv(int ms)
{
	return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct daemon *d = arg;
	for (int i = 0; i < d->proxy.n_workers; i++)
		if (!atomic_load(&d->proxy.workers[i].finished))
			return;
	event_base_loopexit(d->base, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct daemon *d = arg;
	log_warn("shutdown: timeout reached, closing the remaining sessions");
	for (int i = 0; i < d->proxy.n_workers; i++)
		worker_stop(&d->proxy.workers[i]);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct daemon *d = arg;
	if (d->phase == DAEMON_DRAINING) {
		log_warn("shutdown: second signal, closing every session now");
		on_deadline(-1, 0, d);
		return;
	}
	if (d->phase == DAEMON_HANDED_OVER) {
		/* The listening socket is the new process's now: leave it alone. */
		log_info("shutdown: %s received after the restart, closing idle sessions",
		         strsignal((int)sig));
		d->phase = DAEMON_DRAINING;
		for (int i = 0; i < d->proxy.n_workers; i++)
			worker_drain(&d->proxy.workers[i]);
		return;
	}
	d->phase = DAEMON_DRAINING;
	restart_cancel(d->restart); /* it would lose the socket we are about to shut down */
	sdnotify("STOPPING=1");
	log_info("shutdown: %s received, draining (up to %d ms)", strsignal((int)sig),
	         proxy_config(&d->proxy)->proxy.shutdown_timeout_ms);
	/* Refuse new connections at once: a shut-down listening socket resets them. */
	shutdown(d->proxy.listen_fd, SHUT_RDWR);
	for (int i = 0; i < d->proxy.n_workers; i++)
		worker_drain(&d->proxy.workers[i]);
	struct timeval poll = ms_to_tv(SHUTDOWN_POLL_MS);
	struct timeval deadline = ms_to_tv(proxy_config(&d->proxy)->proxy.shutdown_timeout_ms);
	event_add(d->poll, &poll);
	event_add(d->deadline, &deadline);
}

static bool start_workers(struct proxy *p)
{
	p->n_workers = proxy_config(p)->proxy.threads;
	p->workers = calloc((size_t)p->n_workers, sizeof(*p->workers));
	if (!p->workers)
		return false;
	for (int i = 0; i < p->n_workers; i++) {
		if (!worker_init(&p->workers[i], p, i) || !worker_start(&p->workers[i])) {
			log_error("cannot start worker %d", i);
			return false;
		}
	}
	return true;
}

/* The new process serves (or failed): the old one stops accepting and lets its sessions end. */
static void on_restart_done(void *arg, pid_t pid, bool ok)
{
	struct daemon *d = arg;
	if (!ok) {
		log_error("restart: failed; process %d keeps serving", (int)getpid());
		return;
	}
	d->phase = DAEMON_HANDED_OVER;
	char state[64];
	snprintf(state, sizeof(state), "MAINPID=%d", (int)pid);
	sdnotify(state);
	log_info("restart: process %d serves; process %d stops accepting and finishes its "
	         "sessions (up to %d ms)",
	         (int)pid, (int)getpid(), proxy_config(&d->proxy)->proxy.shutdown_timeout_ms);
	stats_stop(d->stats); /* the new process answers on the stats port now */
	d->stats = NULL;
	d->stats_fd = -1;
	for (int i = 0; i < d->proxy.n_workers; i++)
		worker_handover(&d->proxy.workers[i]);
	struct timeval poll = ms_to_tv(SHUTDOWN_POLL_MS);
	struct timeval deadline = ms_to_tv(proxy_config(&d->proxy)->proxy.shutdown_timeout_ms);
	event_add(d->poll, &poll);
	event_add(d->deadline, &deadline);
}

/* SIGUSR2: start the new binary on our sockets. */
static void on_restart(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct daemon *d = arg;
	if (d->phase != DAEMON_RUNNING) {
		log_warn("restart: SIGUSR2 ignored, this process is already stopping");
		return;
	}
	log_info("restart: SIGUSR2 received");
	if (!restart_begin(d->restart, d->proxy.listen_fd, d->stats_fd, on_restart_done, d))
		log_error("restart: not started; process %d keeps serving", (int)getpid());
}

/* SIGHUP: re-read the file; sessions keep running on what they have. */
static void on_hangup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct daemon *d = arg;
	log_info("reload: SIGHUP received, reading %s", d->config_path);
	if (!proxy_reload(&d->proxy, d->config_path))
		return;
	log_set_level((enum log_level)proxy_config(&d->proxy)->proxy.log_level);
	for (int i = 0; i < d->proxy.n_workers; i++)
		worker_reload(&d->proxy.workers[i]);
}

/* Runs the daemon; takes ownership of cfg (and of every config a reload loads). */
static int run(struct config *cfg, const char *path, int argc, char **argv)
{
	struct daemon d = {.proxy = {.listen_fd = -1}, .config_path = path, .stats_fd = -1};
	struct proxy *p = &d.proxy;
	atomic_init(&p->cfg, cfg);
	char err[512];
	int rc = 1;
	struct monitor *monitor = NULL;
	p->started = time(NULL);
	atomic_init(&p->next_session_id, 1);
	proxy_identity_init(p);
	schema_store_init(&p->schema);
	if (!backends_init(&p->backends, cfg, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	/* Signals first: one that arrives while starting (clients may already connect once the
	 * socket listens) waits for the loop instead of killing the process. */
	d.base = event_base_new();
	if (!d.base)
		goto out;
	d.sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	d.sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	d.sighup = evsignal_new(d.base, SIGHUP, on_hangup, &d);
	d.sigusr2 = evsignal_new(d.base, SIGUSR2, on_restart, &d);
	d.poll = event_new(d.base, -1, EV_PERSIST, on_poll, &d);
	d.deadline = event_new(d.base, -1, 0, on_deadline, &d);
	if (!d.sigterm || !d.sigint || !d.sighup || !d.sigusr2 || !d.poll || !d.deadline ||
	    evsignal_add(d.sigterm, NULL) || evsignal_add(d.sigint, NULL) ||
	    evsignal_add(d.sighup, NULL) || evsignal_add(d.sigusr2, NULL))
		goto out;
	if (!limits_configure(&p->limits, cfg))
		goto out;
	/* After a graceful restart the sockets come from the old process. */
	p->listen_fd = restart_inherited_fd(RESTART_LISTEN_ENV, &cfg->proxy.listen);
	if (p->listen_fd < 0)
		p->listen_fd = proxy_listen(&cfg->proxy.listen, err, sizeof(err));
	if (p->listen_fd < 0) {
		log_error("%s", err);
		goto out;
	}
	d.stats_fd = restart_inherited_fd(RESTART_STATS_ENV, &cfg->stats.listen);
	if (d.stats_fd < 0)
		d.stats_fd = proxy_listen(&cfg->stats.listen, err, sizeof(err));
	if (d.stats_fd < 0) {
		log_error("stats: %s", err);
		goto out;
	}
	d.stats = stats_start(d.base, p, d.stats_fd);
	if (!d.stats) {
		d.stats_fd = -1;
		goto out;
	}
	d.restart = restart_create(d.base, argc, argv);
	if (!d.restart)
		goto out;
	monitor = monitor_start(p);
	if (!monitor || !start_workers(p))
		goto out;
	log_info("sluice %s listening on %s:%u (stats on %s:%u), %d workers, primary %s",
	         SLUICE_VERSION, cfg->proxy.listen.host, cfg->proxy.listen.port,
	         cfg->stats.listen.host, cfg->stats.listen.port, p->n_workers,
	         backends_primary(&p->backends)->address);
	restart_signal_ready();
	sdnotify("READY=1");
	event_base_dispatch(d.base);
	rc = 0;
	log_info("shutdown: complete");
out:
	if (p->workers) {
		for (int i = 0; i < p->n_workers; i++) {
			if (!rc)
				worker_join(&p->workers[i]);
			worker_free(&p->workers[i]);
		}
		free(p->workers);
	}
	monitor_stop(monitor);
	stats_stop(d.stats);
	restart_free(d.restart);
	if (d.sigterm)
		event_free(d.sigterm);
	if (d.sigint)
		event_free(d.sigint);
	if (d.sighup)
		event_free(d.sighup);
	if (d.sigusr2)
		event_free(d.sigusr2);
	if (d.poll)
		event_free(d.poll);
	if (d.deadline)
		event_free(d.deadline);
	if (d.base)
		event_base_free(d.base);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (!d.stats && d.stats_fd >= 0)
		close(d.stats_fd);
	backends_free(&p->backends);
	limits_free(&p->limits);
	schema_store_free(&p->schema);
	pthread_mutex_destroy(&p->identity.lock);
	proxy_free_configs(p);
	config_free((struct config *)proxy_config(p));
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_REFERENCE };
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"config-reference", no_argument, NULL, OPT_REFERENCE},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check_only = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case OPT_CHECK: check_only = true; break;
		case OPT_REFERENCE: config_write_reference(stdout); return 0;
		case 'V': printf("sluice %s\n", SLUICE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	char err[8192];
	struct config *cfg = config_load(path, err, sizeof(err));
	if (!cfg) {
		fputs(err, stderr);
		return 1;
	}
	if (!tls_init(&cfg->proxy, err, sizeof(err))) { /* the certificate is part of the config */
		fprintf(stderr, "%s\n", err);
		config_free(cfg);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration is valid\n", path);
		tls_free();
		config_free(cfg);
		return 0;
	}
	log_set_level((enum log_level)cfg->proxy.log_level);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	mysql_library_init(0, NULL, NULL);
	int rc = run(cfg, path, argc, argv);
	tls_free();
	mysql_library_end();
	libevent_global_shutdown();
	return rc;
}
