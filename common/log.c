/* common/log.c - see log.h */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static enum log_level level = LOG_LVL_INFO;
static int to_syslog;
static int to_journal;   /* stderr is the journal: "<N>" line prefixes */

/* Parses the decimal number at *p up to stop; 0 when there is none. */
static int
dec(const char **p, char stop, uintmax_t *out)
{
	const char *s = *p;

	*out = 0;
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*out > (UINTMAX_MAX - 9) / 10)
			return 0;
		*out = *out * 10 + (uintmax_t)(*s - '0');
	}
	if (*s != stop)
		return 0;
	*p = s + (stop != '\0');
	return 1;
}

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE when it connects stdout/stderr
 * to the journal (systemd.exec(5)). Only when stderr is that very stream
 * (not redirected to a file by hand) do lines get the "<N>" prefix that
 * gives the journal their priority (sd-daemon(3)).
 */
static int
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat sb;

	if (e == NULL || !dec(&e, ':', &dev) || !dec(&e, '\0', &ino) ||
	    fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (uintmax_t)sb.st_dev == dev && (uintmax_t)sb.st_ino == ino;
}

void
log_use_syslog(void)
{
	if (!to_syslog)
		openlog("dmarcwatch", LOG_PID | LOG_NDELAY, LOG_MAIL);
	to_syslog = 1;
}

int
log_is_syslog(void)
{
	return to_syslog;
}

static int
syslog_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERROR: return LOG_ERR;
	case LOG_LVL_WARN: return LOG_WARNING;
	case LOG_LVL_INFO: return LOG_INFO;
	case LOG_LVL_DEBUG: return LOG_DEBUG;
	}
	return LOG_ERR;
}

void
log_set_level(enum log_level lvl)
{
	level = lvl;
	/* main() sets the level first thing, before any thread exists:
	 * the place to look at the environment once. */
	to_journal = stderr_is_journal();
}

enum log_level
log_get_level(void)
{
	return level;
}

static void vlog(enum log_level lvl, const char *prefix, int with_errno,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void
vlog(enum log_level lvl, const char *prefix, int with_errno, const char *fmt,
    va_list ap)
{
	char line[2048];
	int saved = errno;

	if (lvl > level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (to_syslog && with_errno)
		syslog(syslog_priority(lvl), "%s%s: %s", prefix, line,
		    strerror(saved));
	else if (to_syslog)
		syslog(syslog_priority(lvl), "%s%s", prefix, line);
	else {
		char pri[8] = "";

		if (to_journal)
			snprintf(pri, sizeof pri, "<%d>", syslog_priority(lvl));
		if (with_errno)
			fprintf(stderr, "%sdmarcwatch: %s%s: %s\n", pri, prefix,
			    line, strerror(saved));
		else
			fprintf(stderr, "%sdmarcwatch: %s%s\n", pri, prefix,
			    line);
	}
	errno = saved;
}

#define DEFINE_LOG(name, lvl, prefix, with_errno)                      \
	void name(const char *fmt, ...)                                \
	{                                                              \
		va_list ap;                                            \
		va_start(ap, fmt);                                     \
		vlog(lvl, prefix, with_errno, fmt, ap);                \
		va_end(ap);                                            \
	}

DEFINE_LOG(log_error, LOG_LVL_ERROR, "error: ", 0)
DEFINE_LOG(log_warnx, LOG_LVL_WARN, "warning: ", 0)
DEFINE_LOG(log_warn, LOG_LVL_WARN, "warning: ", 1)
DEFINE_LOG(log_info, LOG_LVL_INFO, "", 0)
DEFINE_LOG(log_debug, LOG_LVL_DEBUG, "debug: ", 0)
