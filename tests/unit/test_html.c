/*
 * tests/unit/test_html.c - report/: the one escaping function (html_esc)
 * and the page helpers that shape what an admin reads (hp_noun, the day
 * chart's bars). Numbered, table-driven cases; prints each failure, exits
 * non-zero.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/limits.h"
#include "../../common/timefmt.h"
#include "../../report/html_esc.h"
#include "../../report/html_page.h"
#include "testutil.h"

static int failures, checks;

#define FFFD "\xef\xbf\xbd"

static const struct {
	const char *id, *in, *out;
} esc_cases[] = {
	{ "e01", "plain text", "plain text" },
	{ "e02", "<script>alert(1)</script>",
	  "&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "e03", "\"><img src=x onerror=alert(1)>",
	  "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" },
	{ "e04", "a'b`c&d", "a&#39;b&#96;c&amp;d" },
	{ "e05", "cr\rlf\ntab\tesc\x1b del\x7f",
	  "cr" FFFD "lf\ntab\tesc" FFFD " del" FFFD },
	/* Bidi overrides and isolates: replaced, not passed on. */
	{ "e06", "gmail\xe2\x80\xae" "moc.", "gmail" FFFD "moc." },
	{ "e07", "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
	  FFFD FFFD FFFD FFFD },
	{ "e08", "x\xe2\x81\xa6y\xe2\x81\xa7z\xe2\x81\xa8w\xe2\x81\xa9",
	  "x" FFFD "y" FFFD "z" FFFD "w" FFFD },
	/* Neighbours that are ordinary text stay: U+2029, U+202F, U+2065,
	 * U+206A, an en dash, a Euro sign. */
	{ "e09", "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa",
	  "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa" },
	{ "e10", "a\xe2\x80\x93" "b \xe2\x82\xac", "a\xe2\x80\x93" "b \xe2\x82\xac" },
	/* A truncated sequence at the end is not read past the NUL. */
	{ "e11", "end\xe2\x80", "end\xe2\x80" },
	{ "e12", "end\xe2", "end\xe2" },
	{ "e13", "", "" },
};

static const struct {
	const char *id;
	uint64_t n;
	const char *plural, *want;
} noun_cases[] = {
	{ "n01", 1, "messages", "message" },
	{ "n02", 0, "messages", "messages" },
	{ "n03", 2, "days", "days" },
	{ "n04", 1, "days", "day" },
	{ "n05", 1, "policies", "policy" },
	{ "n06", 1, "connections", "connection" },
	{ "n07", 1, "addresses", "address" },
	{ "n08", 1, "widgets", "widgets" },     /* unknown: as given */
	{ "n09", 11, "reports", "reports" },
};

/* Counts occurrences of needle in the page. */
static size_t
count(const struct html_page *p, const char *needle)
{
	const char *s = (const char *)p->b.data;
	size_t n = 0, l = strlen(needle);

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += l;
	}
	return n;
}

/* A chart over days d0 + k * step, k < n, each with one message. */
static void
chart(struct html_page *p, int64_t d0, int64_t step, size_t n)
{
	static struct hp_series_day d[4096];

	for (size_t i = 0; i < n && i < sizeof d / sizeof d[0]; i++) {
		char tmp[32];

		time_iso_day((d0 + (int64_t)i * step) * 86400, tmp, sizeof tmp);
		memcpy(d[i].day, tmp, 10);
		d[i].day[10] = '\0';
		d[i].good = 1;
		d[i].bad = i % 2;
		d[i].cap = 0;
	}
	hp_chart_days(p, "Test", "pass", "fail", "messages", d, n, 0);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof esc_cases / sizeof esc_cases[0]; i++) {
		struct buf b;

		buf_init(&b, 4096);
		TU_CHECK(esc_cases[i].id, html_esc(&b, esc_cases[i].in) == 0);
		TU_CHECK(esc_cases[i].id, strcmp(b.data ? (char *)b.data : "",
		    esc_cases[i].out) == 0);
		buf_free(&b);
	}
	{
		struct buf b;

		buf_init(&b, 16);
		TU_CHECK("e20", html_esc(&b, NULL) == 0 && b.len == 0);
		TU_CHECK("e21", html_esc(&b, "<<<<<<<<") == ERR_TOO_LARGE);
		buf_free(&b);
	}
	for (size_t i = 0; i < sizeof noun_cases / sizeof noun_cases[0]; i++)
		TU_CHECK(noun_cases[i].id, strcmp(hp_noun(noun_cases[i].n,
		    noun_cases[i].plural), noun_cases[i].want) == 0);
	/* The chart: a bar a day up to LIM_HTML_CHART_BARS days; beyond,
	 * weeks from a Monday; far beyond, runs of weeks; never more bars
	 * than the budget. 19358 is 2023-01-01 (a Sunday). */
	{
		static const struct {
			const char *id;
			int64_t d0, step;
			size_t n;
			const char *caption;
			size_t max_bars;
		} c[] = {
			{ "c01", 19358, 1, 10, "per UTC day", 10 },
			{ "c02", 19358, 1, LIM_HTML_CHART_BARS, "per UTC day",
			  LIM_HTML_CHART_BARS },
			{ "c03", 19358, 1, LIM_HTML_CHART_BARS + 1,
			  "per week, Monday to Sunday", 28 },
			{ "c04", 19358, 1, 365, "per week", 54 },
			{ "c05", 0, 7, 4000, "days from a Monday",
			  LIM_HTML_CHART_BARS },
			/* two days 55 years apart */
			{ "c06", 365, 20000, 2, "days from a Monday", 2 },
		};

		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			struct html_page p;
			size_t bars;

			hp_init(&p);
			chart(&p, c[i].d0, c[i].step, c[i].n);
			bars = count(&p, "fill=\"#0072b2\"");
			TU_CHECK(c[i].id, p.rc == 0);
			TU_CHECK(c[i].id, strstr((char *)p.b.data,
			    c[i].caption) != NULL);
			TU_CHECK(c[i].id, bars >= 1 && bars <= c[i].max_bars &&
			    bars <= LIM_HTML_CHART_BARS);
			/* the scale and the dates are HTML text */
			TU_CHECK(c[i].id, count(&p, "<div class=\"xa\"") == 1 &&
			    count(&p, "Dashed line: ") == 1);
			TU_CHECK(c[i].id, count(&p, "<text") == 0);
			hp_free(&p);
		}
	}
	/* hp_table: '~' starts the secondary columns (hN, key columns). */
	{
		static const char *const cols[] = { "A", "#B", "~C", "#D",
		    NULL };
		static const char *const plain[] = { "A", "B", NULL };
		struct html_page p;

		hp_init(&p);
		hp_table(&p, "t", NULL, cols);
		hp_table_end(&p);
		TU_CHECK("t01", strstr((char *)p.b.data, "<table id=\"t\" "
		    "class=\"h2\">") != NULL);
		TU_CHECK("t02", count(&p, "class=\"s k\"") == 1 &&
		    count(&p, "class=\"s n k\"") == 1 &&
		    count(&p, "class=\"s\">C<") == 1 &&
		    count(&p, "class=\"s n\">D<") == 1);
		TU_CHECK("t03", count(&p, "class=\"nn\"") == 1);
		TU_CHECK("t04", count(&p, "tabindex") == 0);
		hp_free(&p);
		hp_init(&p);
		hp_table(&p, NULL, NULL, plain);
		TU_CHECK("t05", count(&p, "class=\"h") == 0 &&
		    count(&p, " k\"") == 0 && count(&p, "class=\"nn\"") == 0);
		hp_free(&p);
	}
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
