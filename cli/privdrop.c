/* cli/privdrop.c - see privdrop.h */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "privdrop.h"

int
privdrop(const char *user)
{
	struct passwd *pw;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid, gid;
	int rc = 0;

	if (getuid() != 0 && geteuid() != 0) {
		log_debug("running as uid %u: no privileges to drop",
		    (unsigned)getuid());
		return 0;
	}
	errno = 0;
	if (user == NULL || user[0] == '\0' ||
	    (pw = getpwnam(user)) == NULL) {
		log_error("refusing to run as root: user '%s' does not exist; "
		    "create it (doc/operations.md) or set [general] user",
		    user != NULL ? user : "");
		rc = ERR_INVAL;
		goto out;
	}
	if (pw->pw_uid == 0) {
		/* An explicit choice (containers, test rigs): honoured, but
		 * said on every start, never silent. The default user is
		 * "dmarcwatch", so this never happens by accident. */
		log_warnx("running as root because [general] user = %s; "
		    "mail from strangers is parsed with full privileges "
		    "(name an unprivileged user instead)", user);
		return 0;
	}
	gid = pw->pw_gid;
	if (setgroups(1, &gid) != 0) {
		log_warn("setgroups(%u)", (unsigned)gid);
		rc = ERR_IO;
		goto out;
	}
	if (setresgid(gid, gid, gid) != 0) {
		log_warn("setresgid(%u)", (unsigned)gid);
		rc = ERR_IO;
		goto out;
	}
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_warn("setresuid(%u)", (unsigned)pw->pw_uid);
		rc = ERR_IO;
		goto out;
	}
	/* Verify: every id is the new one and root cannot come back. */
	if (getresuid(&ruid, &euid, &suid) != 0 ||
	    getresgid(&rgid, &egid, &sgid) != 0 ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
	    rgid != gid || egid != gid || sgid != gid) {
		log_error("privilege drop to '%s' did not take effect", user);
		rc = ERR_IO;
		goto out;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		log_error("privilege drop to '%s': root could be regained", user);
		rc = ERR_IO;
		goto out;
	}
	/* The environment said root's: a token_command run later as this
	 * user would look for its files in /root. As su and runuser do. */
	if (setenv("HOME", pw->pw_dir, 1) != 0 ||
	    setenv("USER", pw->pw_name, 1) != 0 ||
	    setenv("LOGNAME", pw->pw_name, 1) != 0) {
		log_warn("setenv");
		rc = ERR_NOMEM;
		goto out;
	}
	log_debug("dropped privileges to user %s (uid %u, gid %u)", user,
	    (unsigned)pw->pw_uid, (unsigned)gid);
out:
	return rc;
}
