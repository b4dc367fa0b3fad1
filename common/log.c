/* common/log.c - see log.h */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static enum log_level level = LOG_LVL_INFO;
static int to_syslog;

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
	else if (with_errno)
		fprintf(stderr, "dmarcwatch: %s%s: %s\n", prefix, line,
		    strerror(saved));
	else
		fprintf(stderr, "dmarcwatch: %s%s\n", prefix, line);
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
