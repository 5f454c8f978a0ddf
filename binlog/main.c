/*
 * main.c - sluice-binlog: command line, start-up checks, signals and the run loop.
 *
 * Loads the same configuration file as the proxy (config_load), refuses to start if the
 * primary's binlog cannot be decoded, starts the stats thread, then runs the tailer's steps until
 * SIGTERM or SIGINT, sleeping between steps as long as the tailer says (never more than 50 ms, so
 * a signal is acted on promptly). Exit status: 0 after a signal, 1 on a configuration or start-up
 * error. It never exits on a transient fault: the tailer retries those itself.
 */
#include "config.h"
#include "log.h"
#include "stats.h"
#include "tailer.h"

#include <getopt.h>
#include <mysql.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLEEP_SLICE_MS 50

static atomic_bool stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_requested, true);
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: sluice-binlog -c FILE\n"
	        "       sluice-binlog --version | --help\n"
	        "\n"
	        "  -c, --config FILE   configuration file (the proxy's; [binlog], [pinning])\n"
	        "  -V, --version       print the version and exit\n"
	        "  -h, --help          print this help and exit\n"
	        "\n"
	        "Reads the primary's binlog as a replica and publishes every committed change to\n"
	        "Redis (docs/binlog.md). Runs in the foreground and logs to stderr; SIGTERM or\n"
	        "SIGINT stop it (exit 0).\n");
}

static void sleep_ms(int ms)
{
	if (ms <= 0)
		return;
	if (ms > SLEEP_SLICE_MS)
		ms = SLEEP_SLICE_MS;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Waits for a primary that answers; false if it cannot be decoded (or a signal came first). */
static bool wait_for_decodable_primary(struct tailer *t)
{
	struct backoff b;
	backoff_reset(&b);
	while (!atomic_load(&stop_requested)) {
		switch (tailer_check_primary(t)) {
		case TAILER_PRIMARY_OK: return true;
		case TAILER_PRIMARY_UNFIT: return false;
		case TAILER_PRIMARY_DOWN: break;
		}
		int wait = backoff_failed(&b, now_mono_ms());
		for (int slept = 0; slept < wait && !atomic_load(&stop_requested);
		     slept += SLEEP_SLICE_MS)
			sleep_ms(SLEEP_SLICE_MS);
	}
	return true;
}

static int run(const struct config *cfg)
{
	struct blstats stats;
	blstats_init(&stats);
	struct tailer t;
	int status = 0;
	if (!tailer_init(&t, cfg, &stats)) {
		status = 1;
		goto out;
	}
	if (!wait_for_decodable_primary(&t)) {
		log_error("binlog: refusing to start");
		status = 1;
		goto out;
	}
	struct blstats_server *http = blstats_start(&stats, &cfg->binlog.stats_listen);
	if (!http) {
		status = 1;
		goto out;
	}
	log_info("sluice-binlog %s: id %s, stats on %s:%u", SLUICE_VERSION, t.lease.id,
	         cfg->binlog.stats_listen.host, cfg->binlog.stats_listen.port);
	while (!atomic_load(&stop_requested))
		sleep_ms(tailer_step(&t));
	log_info("binlog: stopping");
	tailer_shutdown(&t);
	blstats_stop(http);
out:
	tailer_free(&t);
	blstats_destroy(&stats);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {{"config", required_argument, NULL, 'c'},
	                                        {"version", no_argument, NULL, 'V'},
	                                        {"help", no_argument, NULL, 'h'},
	                                        {NULL, 0, NULL, 0}};
	const char *path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'V': printf("sluice-binlog %s\n", SLUICE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 1;
	}
	char err[4096];
	struct config *cfg = config_load(path, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s", err);
		return 1;
	}
	log_set_level((enum log_level)cfg->proxy.log_level);
	install_signals();
	mysql_library_init(0, NULL, NULL);
	int status = run(cfg);
	mysql_library_end();
	config_free(cfg);
	return status;
}
