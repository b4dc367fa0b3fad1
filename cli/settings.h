/*
 * cli/settings.h - dmarcwatch's configuration: defaults, then the INI file
 * (-c FILE, else /etc/dmarcwatch/dmarcwatch.conf when it exists), then
 * command-line flags. Every key is documented in doc/config.md.
 */
#ifndef DW_CLI_SETTINGS_H
#define DW_CLI_SETTINGS_H

#include <stdio.h>

#include "../ingest/imap.h"
#include "../ingest/sendlog.h"   /* struct sender_config (store/store.h) */

#define SETTINGS_PATH_MAX 4096
#define SETTINGS_USER_MAX 33        /* user names: 32 bytes (useradd) */
#define SETTINGS_DEFAULT_USER "dmarcwatch"

/* [hints] (doc/config.md): where `dmarcwatch hints` writes; "" = not
 * written. */
struct settings_hints {
	char json[SETTINGS_PATH_MAX];
	char postfix_dir[SETTINGS_PATH_MAX];
	char kumomta_file[SETTINGS_PATH_MAX];
	char pmta_dir[SETTINGS_PATH_MAX];
	char instance[256];
	unsigned ttl_hours;                /* 0 = the engine's (26) */
	unsigned active_hours;             /* 0 = the engine's (12) */
};

struct settings {
	char database[SETTINGS_PATH_MAX];  /* [general] database */
	int keep_failure_body;             /* [failure] keep_original_body */
	struct imap_config imap;           /* [imap] */
	int imap_line;                     /* line of the first [imap] key */
	int secret_line;                   /* line of password_file /
	                                    * token_file / token_command */
	int folders_line;                  /* line of folders (0 = unset) */
	char providers[SETTINGS_PATH_MAX]; /* [general] providers; "" = the
	                                    * default search (doc/providers.md) */
	struct sender_config sender;       /* [sender] */
	struct settings_hints hints;       /* [hints] */
	char run_user[SETTINGS_USER_MAX];  /* [general] user: fetch and watch
	                                    * drop to it when started as root */
	int log_syslog;                    /* [general] log = syslog */
	int target_line[LIM_SENDER_TARGETS];   /* config line of each target,
	                                        * for config check */
};

void settings_defaults(struct settings *s);

/*
 * Reads path into s. Every problem is printed to errs as
 * "file:line: message". Returns the number of problems (0 = fine), or -1
 * when the file cannot be read at all (also printed). When the file does
 * not exist and missing_ok is set, returns 0 and leaves s alone.
 */
int settings_load(struct settings *s, const char *path, int missing_ok,
    FILE *errs);

#endif
