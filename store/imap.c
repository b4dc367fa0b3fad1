/*
 * store/imap.c - the IMAP poller's state: UIDVALIDITY per folder and what
 * became of each UID (doc/schema.md "IMAP state"). Few statements per
 * message, so they are prepared per call rather than added to the shared
 * statement cache.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_priv.h"

int
store_imap_folder(struct store *s, const char *account, const char *folder,
    uint32_t uidvalidity, int64_t *folder_id, int *changed, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t old = -1, id = 0;
	int rc, src;

	*changed = 0;
	/* The usual case, the folder known with the same UIDVALIDITY, only
	 * reads: a pass can then go on to its messages while another process
	 * holds the write lock, and count their transient failures. */
	if ((rc = store_prepare(s, "SELECT id FROM imap_folders WHERE account = ?1"
	    " AND folder = ?2 AND uidvalidity = ?3", &st, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)uidvalidity);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = store_db_error(s, src, "imap folder", err);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != 0)
		return rc;
	if (src == SQLITE_ROW) {
		*folder_id = id;
		return 0;
	}
	if ((rc = store_tx_begin(s, err)) != 0)
		return rc;
	if ((rc = store_prepare(s, "SELECT id, uidvalidity FROM imap_folders WHERE"
	    " account = ?1 AND folder = ?2", &st, err)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		old = sqlite3_column_int64(st, 1);
	} else if (src != SQLITE_DONE) {
		rc = store_db_error(s, src, "imap folder", err);
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (old == (int64_t)uidvalidity) {
		*folder_id = id;
		return store_tx_commit(s, err);
	}
	if (old >= 0) {
		/* The server renumbered the folder: the UIDs we know mean
		 * other messages now. */
		*changed = 1;
		if ((rc = store_prepare(s, "DELETE FROM imap_uids WHERE folder_id = ?1",
		    &st, err)) != 0)
			goto fail;
		sqlite3_bind_int64(st, 1, id);
		rc = store_step_finalize(s, st, "imap forget uids", err);
		st = NULL;
		if (rc != 0)
			goto fail;
	}
	if ((rc = store_prepare(s, "INSERT INTO imap_folders (account, folder,"
	    " uidvalidity, updated) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
	    " (account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
	    " updated = excluded.updated", &st, err)) != 0)
		goto fail;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)uidvalidity);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	rc = store_step_finalize(s, st, "imap folder", err);
	st = NULL;
	if (rc != 0)
		goto fail;
	if (old < 0)
		id = sqlite3_last_insert_rowid(s->db);
	*folder_id = id;
	return store_tx_commit(s, err);
fail:
	sqlite3_finalize(st);
	store_tx_rollback(s);
	return rc;
}

int
store_imap_uid_get(struct store *s, int64_t folder_id, uint32_t uid,
    struct store_imap_uid *row, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = store_prepare(s, "SELECT state, target, attempts FROM imap_uids"
	    " WHERE folder_id = ?1 AND uid = ?2", &st, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, (int64_t)uid);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const unsigned char *a = sqlite3_column_text(st, 0);
		const unsigned char *b = sqlite3_column_text(st, 1);
		snprintf(row->state, sizeof row->state, "%s",
		    a ? (const char *)a : "");
		snprintf(row->target, sizeof row->target, "%s",
		    b ? (const char *)b : "");
		row->attempts = sqlite3_column_int(st, 2);
		rc = 1;
	} else if (src == SQLITE_DONE)
		rc = 0;
	else
		rc = store_db_error(s, src, "imap uid", err);
	sqlite3_finalize(st);
	return rc;
}

int
store_imap_uid_put(struct store *s, int64_t folder_id, uint32_t uid,
    const char *sha256, const char *state, const char *target, int attempts,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_prepare(s, "INSERT INTO imap_uids (folder_id, uid, sha256,"
	    " state, target, attempts, updated) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7) ON CONFLICT (folder_id, uid) DO UPDATE SET"
	    " sha256 = ifnull(excluded.sha256, sha256), state = excluded.state,"
	    " target = excluded.target, attempts = excluded.attempts,"
	    " updated = excluded.updated", &st, err)) != 0)
		return rc;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, (int64_t)uid);
	store_bind_text(st, 3, sha256);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, attempts);
	sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
	return store_step_finalize(s, st, "imap uid", err);
}

int
store_imap_uids_archived(struct store *s, int64_t folder_id,
    const uint32_t *uids, size_t n, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = store_tx_begin(s, err)) != 0)
		return rc;
	if ((rc = store_prepare(s, "UPDATE imap_uids SET state = 'archived', updated"
	    " = ?3 WHERE folder_id = ?1 AND uid = ?2", &st, err)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		int src;
		sqlite3_bind_int64(st, 1, folder_id);
		sqlite3_bind_int64(st, 2, (int64_t)uids[i]);
		sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
		src = sqlite3_step(st);
		sqlite3_reset(st);
		if (src != SQLITE_DONE) {
			rc = store_db_error(s, src, "imap archived", err);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	return store_tx_commit(s, err);
fail:
	sqlite3_finalize(st);
	store_tx_rollback(s);
	return rc;
}

/* One text value from a query with one text parameter: 1 found, 0 not. */
static int
one_text(struct store *s, const char *sql, const char *arg, char *out,
    size_t cap, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = store_prepare(s, sql, &st, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
		snprintf(out, cap, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		rc = 1;
	} else if (src == SQLITE_ROW || src == SQLITE_DONE)
		rc = 0;
	else
		rc = store_db_error(s, src, "imap target", err);
	sqlite3_finalize(st);
	return rc;
}

int
store_imap_target_of(struct store *s, const char *sha256, char *target,
    size_t cap, struct err *err)
{
	int rc;

	rc = one_text(s, "SELECT target FROM imap_uids WHERE sha256 = ?1"
	    " AND target NOT IN ('unsaved', '') LIMIT 1", sha256, target, cap,
	    err);
	if (rc != 0)
		return rc;
	/* Bytes first seen by `import`: what their reports were. The
	 * ordering picks one folder for a message holding several kinds. */
	rc = one_text(s, "SELECT r.kind FROM reports r JOIN messages m ON"
	    " m.id = r.message_id WHERE m.sha256 = ?1 ORDER BY CASE r.kind"
	    " WHEN 'aggregate' THEN 1 WHEN 'tlsrpt' THEN 2 ELSE 3 END LIMIT 1",
	    sha256, target, cap, err);
	if (rc != 0)
		return rc;
	return one_text(s, "SELECT 'invalid' FROM messages WHERE sha256 = ?1"
	    " AND outcome = 'rejected'", sha256, target, cap, err);
}

int
store_imap_noreport(struct store *s, const char *sha256, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	/* Rejected, and every rejection "noreport": nothing in the message
	 * looked like a report. A malformed report is another code. */
	if ((rc = store_prepare(s, "SELECT count(*), ifnull(sum(error_code ="
	    " 'noreport'), 0) FROM rejected WHERE sha256 = ?1", &st, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = sqlite3_column_int64(st, 0) > 0 &&
		    sqlite3_column_int64(st, 0) == sqlite3_column_int64(st, 1);
	else
		rc = store_db_error(s, src, "imap noreport", err);
	sqlite3_finalize(st);
	return rc;
}
