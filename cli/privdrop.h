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
 * (logs why and returns a negative ERR_*) when the user does not exist,
 * is root itself, or a step fails. Does nothing (returns 0) when not
 * root. One debug line says what happened.
 */
int privdrop(const char *user);

#endif
