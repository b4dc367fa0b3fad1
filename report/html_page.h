/*
 * report/html_page.h - building one self-contained HTML page in memory and
 * writing it atomically. Internal to report/ (html.c, html_warmup.c).
 *
 * Two ways text gets into a page, kept apart on purpose:
 *  - hp_raw() / hp_fmt(): our own markup and numbers. Never pass report
 *    data to them (hp_fmt's format is a literal, its %s arguments are our
 *    own constants or ids).
 *  - hp_text() and the hp_td_* helpers: anything that came from a report,
 *    a mail or the database, always through html_esc().
 * Errors are sticky: the first failure is kept in p->rc and every later
 * call does nothing, so page code checks once, at the end.
 */
#ifndef DW_REPORT_HTML_PAGE_H
#define DW_REPORT_HTML_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"

struct html_page {
	struct buf b;
	int rc;                 /* first error, 0 while all is well */
	unsigned ids;           /* counter for element ids (charts) */
};

void hp_init(struct html_page *p);
void hp_free(struct html_page *p);

void hp_raw(struct html_page *p, const char *markup);
void hp_fmt(struct html_page *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Escaped text; NULL or "" gives dflt (our text, may be NULL). */
void hp_text(struct html_page *p, const char *s);
void hp_text_or(struct html_page *p, const char *s, const char *dflt);

/* "12,345" */
void hp_num(struct html_page *p, uint64_t v);
/* The noun for n things: plural ("messages", "days", "policies", ...)
 * unless n is 1, then its singular ("message", "day", "policy"). Our
 * nouns only; an unknown one is returned as given. */
const char *hp_noun(uint64_t n, const char *plural);
/* "98.21 %", or "n/a" when den is 0. */
void hp_pct(struct html_page *p, uint64_t num, uint64_t den);
/* "2026-11-23 14:05 UTC" */
void hp_time(struct html_page *p, int64_t t);

/* <!doctype html> ... <main>: CSP, inline CSS, the nav with `active`
 * (a file name, e.g. "index.html") marked, the h1 (our text) and the
 * range line (our text). */
void hp_head(struct html_page *p, const char *title, const char *active,
    const char *range_line);
/* </main>, the footer with the generation time, the inline script. */
void hp_foot(struct html_page *p, int64_t generated);

/*
 * Tables. cols is a NULL-terminated list of column titles (our text); a
 * title starting with '#' is a numeric column (right-aligned, sorted by
 * number; the '#' is not shown). A title starting with '~' (before any
 * '#') starts the secondary columns: it and every column after it are
 * hidden on narrow screens (a line above the table says so), and the
 * columns before it are the table's key columns (th class "k"; the
 * browser test checks they are in view at 1280 px). Order columns so the
 * ones that answer the page's question come first. Every table sits in
 * a container that scrolls sideways when needed; headers sort when
 * scripts run. id (ours, unique on the page) may be NULL.
 */
void hp_table(struct html_page *p, const char *id, const char *caption,
    const char *const *cols);
/* The same, the rows shown as stacked lines on narrow screens (cells
 * that read on their own without their column title). */
void hp_table_stacked(struct html_page *p, const char *id,
    const char *caption, const char *const *cols);
void hp_table_end(struct html_page *p);
void hp_tr(struct html_page *p);
void hp_tr_end(struct html_page *p);
void hp_td_text(struct html_page *p, const char *s);
/* The same, never wrapped (days, addresses, short codes). */
void hp_td_nw(struct html_page *p, const char *s);
/* A number with its unit (plural, "messages": hp_noun() picks the form;
 * NULL for none), sorted by value. */
void hp_td_num(struct html_page *p, uint64_t v, const char *unit);
void hp_td_pct(struct html_page *p, uint64_t num, uint64_t den);
void hp_td_time(struct html_page *p, int64_t t);

/*
 * A per-day bar chart of two stacked series (a "good" one in blue and a
 * "bad" one in orange, e.g. DMARC pass / fail), days given as
 * "YYYY-MM-DD" in ascending order; days missing in between are drawn
 * empty. When the days span more than LIM_HTML_CHART_BARS, bars are
 * weeks (Monday to Sunday) or runs of whole weeks, summed, and the
 * caption says so: one odd report years away cannot squeeze the rest
 * into slivers. The SVG carries a <title> and an aria-label with the
 * totals; the scale and the date ticks are HTML text under the chart
 * (readable at any width); the numbers follow in a table inside
 * <details>, unless caller_table is set and the bars are days: then the
 * caller's own per-day table, written right after, is the text
 * alternative. label and the series names are our text; unit is what a
 * bar counts ("messages"). Days with a cap get a dark mark at that
 * height (the "daily cap" key; summed over a bucket).
 */
struct hp_series_day {
	char day[11];
	uint64_t good, bad;
	uint64_t cap;              /* a limit drawn as a mark; 0 = none */
};
void hp_chart_days(struct html_page *p, const char *label,
    const char *good_name, const char *bad_name, const char *unit,
    const struct hp_series_day *d, size_t n, int caller_table);

/* Writes the page as DIR/NAME through a temporary file in DIR and a
 * rename, so a reader sees the old page or the new one, never half of
 * one. Returns p->rc when the page failed, else 0 or ERR_IO (err
 * filled). */
int hp_write(struct html_page *p, const char *dir, const char *name,
    struct err *err);

#endif
