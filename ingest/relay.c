/* ingest/relay.c - see relay.h */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/arena.h"
#include "relay.h"

/* Three batches in flight keep both threads busy; 256 KiB of copied
 * strings or 1024 records per batch amortise the locking. */
#define RELAY_BATCHES 3
#define RELAY_BATCH_RECORDS 1024
#define RELAY_BATCH_BYTES (256u * 1024)

struct batch {
	struct arena *arena;
	struct agg_record recs[RELAY_BATCH_RECORDS];
	size_t n;
	size_t bytes;
	struct batch *next;
};

enum call { CALL_NONE, CALL_BEGIN, CALL_POLICY, CALL_END };

struct relay {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *queue_head, *queue_tail;   /* parser -> store */
	struct batch *free_list;
	int n_batches;
	struct batch *filling;                   /* parser's own */

	/* a synchronous call waiting for the store thread */
	enum call call;
	const struct report *call_r;
	const struct tlsrpt_policy *call_p;
	int call_done, call_rc;

	int sink_error;            /* first failure of a sink callback */
	int finished;              /* parser thread returned */
	int parse_rc;

	relay_parse_fn fn;
	struct reader *in;
	const void *opts;
	const struct report_sink *real;
	const struct report *cur_r;  /* from begin(), for record() */
	struct err *err;
	struct err parse_err;
};

/* ---- deep copy of a record into a batch arena ---- */

static const char *
dup(struct batch *b, const char *s)
{
	char *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((p = arena_strndup(b->arena, s, n)) != NULL)
		b->bytes += n + 1;
	return p;
}

#define DUP(field) do {                                           \
		if (src->field != NULL &&                         \
		    (dst->field = dup(b, src->field)) == NULL)    \
			return ERR_NOMEM;                         \
	} while (0)

/* The auth-result, reason and raw-value structs hold nothing but string
 * pointers, so one copy loop serves them all; a field added to the model
 * that is not a string trips these asserts. */
_Static_assert(sizeof(struct agg_reason) == 2 * sizeof(const char *), "");
_Static_assert(sizeof(struct agg_dkim) == 4 * sizeof(const char *), "");
_Static_assert(sizeof(struct agg_spf) == 4 * sizeof(const char *), "");
_Static_assert(sizeof(struct raw_value) == 2 * sizeof(const char *), "");

/* Copies n elements of size bytes made of string pointers, and their
 * strings, into the batch. NULL when out of memory. */
static void *
copy_strings(struct batch *b, const void *src, size_t n, size_t size)
{
	const char *const *in = src;
	const char **out;
	size_t k = n * (size / sizeof *in);

	if ((out = arena_alloc(b->arena, n * size)) == NULL)
		return NULL;
	for (size_t i = 0; i < k; i++) {
		out[i] = NULL;
		if (in[i] != NULL && (out[i] = dup(b, in[i])) == NULL)
			return NULL;
	}
	return out;
}

static int
copy_record(struct batch *b, struct agg_record *dst,
    const struct agg_record *src)
{
	*dst = *src;
	DUP(source_ip);
	DUP(disposition);
	DUP(dkim_aligned);
	DUP(spf_aligned);
	DUP(header_from);
	DUP(envelope_from);
	DUP(envelope_to);
	DUP(extensions_xml);
	if (src->n_reasons > 0 && (dst->reasons = copy_strings(b, src->reasons,
	    src->n_reasons, sizeof *src->reasons)) == NULL)
		return ERR_NOMEM;
	if (src->n_dkim > 0 && (dst->dkim = copy_strings(b, src->dkim,
	    src->n_dkim, sizeof *src->dkim)) == NULL)
		return ERR_NOMEM;
	if (src->n_spf > 0 && (dst->spf = copy_strings(b, src->spf,
	    src->n_spf, sizeof *src->spf)) == NULL)
		return ERR_NOMEM;
	if (src->n_raw > 0 && (dst->raw = copy_strings(b, src->raw,
	    src->n_raw, sizeof *src->raw)) == NULL)
		return ERR_NOMEM;
	return 0;
}

/* ---- parser side (worker thread) ---- */

/* A synchronous call: queued batches first (order), then the call. */
static int
sync_call(struct relay *rl, enum call call, const struct report *r,
    const struct tlsrpt_policy *p)
{
	int rc;

	pthread_mutex_lock(&rl->mu);
	if (rl->filling != NULL && rl->filling->n > 0) {
		struct batch *b = rl->filling;
		rl->filling = NULL;
		b->next = NULL;
		if (rl->queue_tail != NULL)
			rl->queue_tail->next = b;
		else
			rl->queue_head = b;
		rl->queue_tail = b;
	}
	if (rl->sink_error != 0) {
		rc = rl->sink_error;
		pthread_mutex_unlock(&rl->mu);
		return rc;
	}
	rl->call = call;
	rl->call_r = r;
	rl->call_p = p;
	rl->call_done = 0;
	pthread_cond_broadcast(&rl->cv);
	while (!rl->call_done)
		pthread_cond_wait(&rl->cv, &rl->mu);
	rc = rl->call_rc;
	rl->call = CALL_NONE;
	pthread_mutex_unlock(&rl->mu);
	return rc;
}

static int
relay_begin(void *ctx, const struct report *r)
{
	return sync_call(ctx, CALL_BEGIN, r, NULL);
}

static int
relay_end(void *ctx, const struct report *r)
{
	return sync_call(ctx, CALL_END, r, NULL);
}

static int
relay_policy(void *ctx, const struct report *r, const struct tlsrpt_policy *p)
{
	return sync_call(ctx, CALL_POLICY, r, p);
}

static int
relay_record(void *ctx, const struct report *r, const struct agg_record *rec)
{
	struct relay *rl = ctx;
	struct batch *b = rl->filling;
	int rc;

	if (b == NULL) {
		pthread_mutex_lock(&rl->mu);
		while (rl->free_list == NULL && rl->n_batches >= RELAY_BATCHES &&
		    rl->sink_error == 0)
			pthread_cond_wait(&rl->cv, &rl->mu);
		if (rl->sink_error != 0) {
			rc = rl->sink_error;
			pthread_mutex_unlock(&rl->mu);
			return rc;
		}
		if (rl->free_list != NULL) {
			b = rl->free_list;
			rl->free_list = b->next;
		}
		pthread_mutex_unlock(&rl->mu);
		if (b == NULL) {
			if ((b = calloc(1, sizeof *b)) == NULL)
				return ERR_NOMEM;
			if ((b->arena = arena_new()) == NULL) {
				free(b);
				return ERR_NOMEM;
			}
			pthread_mutex_lock(&rl->mu);
			rl->n_batches++;
			pthread_mutex_unlock(&rl->mu);
		}
		arena_reset(b->arena);
		b->n = 0;
		b->bytes = 0;
		rl->filling = b;
	}
	if ((rc = copy_record(b, &b->recs[b->n], rec)) != 0)
		return rc;
	b->n++;
	if (b->n == RELAY_BATCH_RECORDS || b->bytes >= RELAY_BATCH_BYTES) {
		pthread_mutex_lock(&rl->mu);
		rl->filling = NULL;
		b->next = NULL;
		if (rl->queue_tail != NULL)
			rl->queue_tail->next = b;
		else
			rl->queue_head = b;
		rl->queue_tail = b;
		rc = rl->sink_error;
		pthread_cond_broadcast(&rl->cv);
		pthread_mutex_unlock(&rl->mu);
		return rc;
	}
	return 0;
}

static void *
parser_main(void *arg)
{
	struct relay *rl = arg;
	struct report_sink sink = {
		.begin = relay_begin, .record = relay_record,
		.end = relay_end, .ctx = rl, .tlsrpt_policy = relay_policy,
	};
	int rc;

	err_clear(&rl->parse_err);
	rc = rl->fn(rl->in, rl->opts, &sink, &rl->parse_err);
	pthread_mutex_lock(&rl->mu);
	if (rl->filling != NULL) {     /* records after a failure: drop */
		rl->filling->next = rl->free_list;
		rl->free_list = rl->filling;
		rl->filling = NULL;
	}
	rl->finished = 1;
	rl->parse_rc = rc;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
	return NULL;
}

/* ---- store side (calling thread) ---- */

/* Hands a batch to the real sink: whole when it takes batches. */
static int
deliver(const struct report_sink *sink, const struct report *r,
    const struct batch *b)
{
	int rc = 0;

	if (sink->records != NULL)
		return sink->records(sink->ctx, r, b->recs, b->n);
	for (size_t i = 0; i < b->n && rc == 0; i++)
		if (sink->record != NULL)
			rc = sink->record(sink->ctx, r, &b->recs[i]);
	return rc;
}

static void
set_sink_error(struct relay *rl, int rc)
{
	pthread_mutex_lock(&rl->mu);
	if (rl->sink_error == 0)
		rl->sink_error = rc;
	pthread_cond_broadcast(&rl->cv);
	pthread_mutex_unlock(&rl->mu);
}

int
relay_parse(relay_parse_fn fn, struct reader *in, const void *opts,
    const struct report_sink *sink, struct err *err)
{
	struct relay rl;
	pthread_t th;
	struct batch *b;
	int rc;

	memset(&rl, 0, sizeof rl);
	rl.fn = fn;
	rl.in = in;
	rl.opts = opts;
	rl.real = sink;
	rl.err = err;
	pthread_mutex_init(&rl.mu, NULL);
	pthread_cond_init(&rl.cv, NULL);
	if (pthread_create(&th, NULL, parser_main, &rl) != 0) {
		pthread_cond_destroy(&rl.cv);
		pthread_mutex_destroy(&rl.mu);
		return err_set(err, ERR_NOMEM, "cannot start parser thread");
	}
	pthread_mutex_lock(&rl.mu);
	for (;;) {
		if (rl.queue_head != NULL) {
			int drop = rl.finished && rl.parse_rc != 0;

			b = rl.queue_head;
			rl.queue_head = b->next;
			if (rl.queue_head == NULL)
				rl.queue_tail = NULL;
			pthread_mutex_unlock(&rl.mu);
			rc = 0;
			/* After a failed parse the report behind cur_r is
			 * gone and its savepoint is rolled back: the records
			 * still queued are dropped unread. */
			if (!drop && rl.sink_error == 0)
				rc = deliver(sink, rl.cur_r, b);
			if (rc != 0)
				set_sink_error(&rl, rc);
			pthread_mutex_lock(&rl.mu);
			b->next = rl.free_list;
			rl.free_list = b;
			pthread_cond_broadcast(&rl.cv);
			continue;
		}
		if (rl.call != CALL_NONE && !rl.call_done) {
			enum call call = rl.call;
			const struct report *r = rl.call_r;
			const struct tlsrpt_policy *p = rl.call_p;

			pthread_mutex_unlock(&rl.mu);
			rc = 0;
			if (rl.sink_error != 0 && call != CALL_BEGIN)
				/* a queued record failed: do not end (or go on
				 * with) a report whose records are missing */
				rc = rl.sink_error;
			else if (call == CALL_BEGIN) {
				rl.cur_r = r;
				if (sink->begin != NULL)
					rc = sink->begin(sink->ctx, r);
			} else if (call == CALL_POLICY) {
				if (sink->tlsrpt_policy != NULL)
					rc = sink->tlsrpt_policy(sink->ctx, r,
					    p);
			} else if (sink->end != NULL)
				rc = sink->end(sink->ctx, r);
			pthread_mutex_lock(&rl.mu);
			if (rc != 0 && rl.sink_error == 0)
				rl.sink_error = rc;
			rl.call_rc = rc;
			rl.call_done = 1;
			pthread_cond_broadcast(&rl.cv);
			continue;
		}
		if (rl.finished)
			break;
		pthread_cond_wait(&rl.cv, &rl.mu);
	}
	pthread_mutex_unlock(&rl.mu);
	pthread_join(th, NULL);
	while ((b = rl.free_list) != NULL) {
		rl.free_list = b->next;
		arena_free(b->arena);
		free(b);
	}
	for (b = rl.queue_head; b != NULL; ) {   /* unreachable in theory */
		struct batch *n = b->next;
		arena_free(b->arena);
		free(b);
		b = n;
	}
	pthread_cond_destroy(&rl.cv);
	pthread_mutex_destroy(&rl.mu);
	if (err != NULL)
		*err = rl.parse_err;
	return rl.parse_rc;
}
