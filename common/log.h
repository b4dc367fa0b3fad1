/*
 * common/log.h - tiny leveled logging to stderr (the journal under systemd)
 * or to syslog(3) (facility LOG_MAIL, ident "dmarcwatch").
 *
 * Levels: error (always, also with -q), warning (default), info (-v; the
 * default of watch), debug (-vv). Never log report contents above
 * LOG_LVL_DEBUG: origins, counts and error messages (struct err, which
 * quotes no report bytes) are fine, names and values from a report are
 * not (tests/cli/test_log_contents.py). Messages are one line; control
 * characters are replaced so hostile strings cannot forge log lines.
 * When stderr is the journal (JOURNAL_STREAM names it; looked at by
 * log_set_level(), which main() calls first), each line starts with its
 * syslog priority "<3>" to "<7>" (sd-daemon(3)), so the journal files it
 * under that priority.
 */
#ifndef DW_COMMON_LOG_H
#define DW_COMMON_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/*
 * Sends every later message to syslog(3) (openlog with ident "dmarcwatch",
 * LOG_PID, facility LOG_MAIL) instead of stderr; the level filter stays.
 * Levels map to LOG_ERR, LOG_WARNING, LOG_INFO and LOG_DEBUG.
 */
void log_use_syslog(void);
int log_is_syslog(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)" and preserves errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
