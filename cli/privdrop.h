/*
 * cli/privdrop.h - fetch and watch give up root before they touch the
 * network or parse anything.
 */
#ifndef DW_CLI_PRIVDROP_H
#define DW_CLI_PRIVDROP_H

/*
 * When the process runs as root (real or effective uid 0), switches to
 * user (its uid, primary gid and no supplementary groups: setgroups,
 * setresgid, setresuid) and checks that root cannot be regained. Refuses
 * (logs why and returns a negative ERR_*) when the user does not exist or
 * a step fails. A configured user with uid 0 (an explicit
 * `[general] user = root`) keeps root with a warning on every start.
 * After the switch HOME, USER and LOGNAME are the user's (pw_dir,
 * pw_name), as su sets them: a token_command inherits them.
 * Does nothing (returns 0) when not root. One debug line says what
 * happened.
 */
int privdrop(const char *user);

#endif
