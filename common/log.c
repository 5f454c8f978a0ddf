/*
 * log.c - timestamped, levelled log lines on stderr (see log.h).
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int threshold = LOG_INFO;

void log_set_level(enum log_level level)
{
	atomic_store(&threshold, level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&threshold, memory_order_relaxed);
}

const char *log_level_str(enum log_level level)
{
	switch (level) {
	case LOG_ERROR: return "ERROR";
	case LOG_WARN: return "WARN";
	case LOG_INFO: return "INFO";
	case LOG_DEBUG: return "DEBUG";
	}
	return "?";
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_get_level())
		return;
	char line[2048];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, now.tv_nsec / 1000000, log_level_str(level));
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line keeps lines whole across threads; a short write to stderr is not
	 * worth retrying. */
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
