/* report/html_page.c - see html_page.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/timefmt.h"
#include "html_esc.h"
#include "html_page.h"
#include "html_script.h"

/*
 * The page's policy: nothing may be fetched (default-src 'none'), styles
 * are the inline <style> block and style attributes, images only data:
 * (none today), and the one inline script is allowed by its hash, computed
 * at build time (gen_script.py). A report string that slipped past the
 * escaping still could not run script or load anything.
 */
#define CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:;" \
	" script-src 'sha256-" HTML_SCRIPT_SHA256 "'; base-uri 'none';" \
	" form-action 'none'"

/* Colours from the Okabe-Ito palette: blue and orange stay apart for the
 * common colour-vision deficiencies. */
static const char css[] =
	":root{--fg:#1d2329;--mut:#5b6670;--bg:#fff;--alt:#f4f6f8;"
	"--line:#d5dbe1;--good:#0072b2;--bad:#e69f00;--red:#c0392b;"
	"--amber:#b7791f;--green:#2e7d32;--link:#0b5cad}"
	"*{box-sizing:border-box}"
	"html{-webkit-text-size-adjust:100%}"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',"
	"Roboto,sans-serif;color:var(--fg);background:var(--bg)}"
	"header.top{background:#17324d;color:#fff;padding:.6rem 1rem}"
	"header.top .brand{font-weight:700;margin-right:1rem}"
	"nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem;align-items:center}"
	"nav a{color:#dbe8f5;text-decoration:none;padding:.15rem 0}"
	"nav a[aria-current]{color:#fff;border-bottom:2px solid #fff}"
	"main{max-width:76rem;margin:0 auto;padding:1rem}"
	"h1{font-size:1.5rem;margin:.3rem 0}"
	"h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:1px solid "
	"var(--line);padding-bottom:.2rem}"
	"h3{font-size:1rem;margin:1.1rem 0 .4rem}"
	"h1,h2,h3,p,li,dd,summary{overflow-wrap:anywhere}"
	"a{color:var(--link)}"
	".muted,.range{color:var(--mut)}"
	".note{background:#fff8e1;border-left:4px solid var(--amber);"
	"padding:.5rem .8rem;margin:.8rem 0}"
	".cards{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(9.5rem,1fr));gap:.6rem;margin:.6rem 0}"
	".card{background:var(--alt);border-radius:6px;padding:.55rem .7rem}"
	".card .k{font-size:.8rem;color:var(--mut)}"
	".card .v{font-size:1.35rem;font-weight:650;"
	"font-variant-numeric:tabular-nums}"
	".tw{overflow-x:auto;max-width:100%;margin:.4rem 0 1rem;"
	"border:1px solid var(--line);border-radius:6px}"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}"
	"caption{text-align:left;padding:.4rem .6rem;font-weight:600;"
	"caption-side:top}"
	"th,td{padding:.3rem .6rem;text-align:left;vertical-align:top;"
	"border-top:1px solid var(--line)}"
	"td{max-width:28rem;overflow-wrap:break-word}"
	"td.nw,th{white-space:nowrap}"
	"th{background:var(--alt);white-space:nowrap;font-weight:600}"
	"th.n,td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	"tbody tr:nth-child(even){background:#fafbfc}"
	".js th.s{cursor:pointer}"
	".js th.s::after{content:' \\2195';color:var(--mut);font-size:.8em}"
	".js th[aria-sort=ascending]::after{content:' \\2191'}"
	".js th[aria-sort=descending]::after{content:' \\2193'}"
	"figure{margin:.5rem 0 1rem}"
	"figure svg{width:100%;height:auto;display:block;"
	"background:var(--alt);border-radius:6px}"
	"figcaption{font-size:.85rem;color:var(--mut)}"
	".key{display:inline-block;width:.8em;height:.8em;margin:0 .25em 0 .6em;"
	"vertical-align:-.05em;border-radius:2px}"
	"details{margin:.3rem 0}"
	"summary{cursor:pointer;color:var(--link)}"
	".gate{display:inline-block;min-width:4.2em;text-align:center;"
	"border-radius:3px;padding:0 .3em;color:#fff;font-size:.8rem}"
	".gate.green{background:var(--green)}.gate.amber{background:var(--amber)}"
	".gate.red{background:var(--red)}.gate.none{background:#8a949e}"
	"footer{max-width:76rem;margin:2rem auto 1rem;padding:0 1rem;"
	"color:var(--mut);font-size:.8rem}"
	"code{font-size:.85em;overflow-wrap:anywhere}"
	"tr.foreign td{background:#fdebd3}"
	".key.cap{background:#222a33;height:.25em}"
	".hint{border-left:4px solid var(--line);padding:.3rem .6rem;"
	"margin:.5rem 0}"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;"
	"gap:.15rem 1rem;margin:.6rem 0}"
	"dl.meta dt{color:var(--mut)}dl.meta dd{margin:0;overflow-wrap:anywhere}"
	"td dl{margin:0}td dt{font-weight:600}td dd{margin:0 0 .3rem}"
	"@media (max-width:40rem){main{padding:.6rem}h1{font-size:1.25rem}"
	"body{font-size:14px}.card .v{font-size:1.15rem}"
	"dl.meta{grid-template-columns:1fr}dl.meta dd{margin-bottom:.3rem}}";

static const struct {
	const char *file, *label;
} nav[] = {
	{ "index.html", "Overview" },
	{ "sources.html", "Sources" },
	{ "warmup.html", "Warm-up" },
	{ "tls.html", "TLS-RPT" },
	{ "failures.html", "Failure reports" },
	{ "rejected.html", "Rejected" },
	{ "reports.html", "Reports" },
};

void
hp_init(struct html_page *p)
{
	memset(p, 0, sizeof *p);
	buf_init(&p->b, LIM_HTML_PAGE_BYTES);
}

void
hp_free(struct html_page *p)
{
	buf_free(&p->b);
}

void
hp_raw(struct html_page *p, const char *markup)
{
	if (p->rc == 0)
		p->rc = buf_append_str(&p->b, markup);
}

void
hp_fmt(struct html_page *p, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	if (p->rc != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	/* Our fragments are short; a longer one is a bug, not truncation
	 * to hide. */
	if (n < 0 || (size_t)n >= sizeof tmp) {
		p->rc = ERR_INVAL;
		return;
	}
	p->rc = buf_append(&p->b, tmp, (size_t)n);
}

void
hp_text(struct html_page *p, const char *s)
{
	if (p->rc == 0)
		p->rc = html_esc(&p->b, s);
}

void
hp_text_or(struct html_page *p, const char *s, const char *dflt)
{
	if (s == NULL || *s == '\0') {
		if (dflt != NULL)
			hp_fmt(p, "<span class=\"muted\">%s</span>", dflt);
		return;
	}
	hp_text(p, s);
}

void
hp_num(struct html_page *p, uint64_t v)
{
	char d[32], out[48];
	int n = snprintf(d, sizeof d, "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = d[i];
	}
	out[o] = '\0';
	hp_raw(p, out);
}

void
hp_pct(struct html_page *p, uint64_t num, uint64_t den)
{
	if (den == 0) {
		hp_raw(p, "<span class=\"muted\">n/a</span>");
		return;
	}
	hp_fmt(p, "%.2f&#8239;%%", 100.0 * (double)num / (double)den);
}

void
hp_time(struct html_page *p, int64_t t)
{
	char iso[32];

	time_iso8601(t, iso, sizeof iso);
	/* "2026-11-23T14:05:00Z" -> "2026-11-23 14:05 UTC" */
	iso[10] = ' ';
	iso[16] = '\0';
	hp_fmt(p, "%s UTC", iso);
}

void
hp_head(struct html_page *p, const char *title, const char *active,
    const char *range_line)
{
	hp_raw(p, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"" CSP "\">"
	    "<meta name=\"viewport\" content=\"width=device-width,"
	    "initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\">"
	    "<title>");
	hp_text(p, title);
	hp_raw(p, " - dmarcwatch</title><style>");
	hp_raw(p, css);
	hp_raw(p, "</style></head>\n<body><header class=\"top\"><nav "
	    "aria-label=\"Pages\"><span class=\"brand\">dmarcwatch</span>");
	for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++)
		hp_fmt(p, "<a href=\"%s\"%s>%s</a>", nav[i].file,
		    active != NULL && strcmp(active, nav[i].file) == 0 ?
		    " aria-current=\"page\"" : "", nav[i].label);
	hp_raw(p, "</nav></header>\n<main><h1>");
	hp_text(p, title);
	hp_raw(p, "</h1>");
	if (range_line != NULL) {
		hp_raw(p, "<p class=\"range\">");
		hp_text(p, range_line);
		hp_raw(p, "</p>");
	}
	hp_raw(p, "\n");
}

void
hp_foot(struct html_page *p, int64_t generated)
{
	hp_raw(p, "</main>\n<footer>Generated by dmarcwatch at ");
	hp_time(p, generated);
	hp_raw(p, " from the local database; this page loads nothing from "
	    "the network. Tables sort when you click a column title "
	    "(optional script); the order shown first is the useful one."
	    "</footer>\n<script>");
	hp_raw(p, html_script);
	hp_raw(p, "</script>\n</body></html>\n");
}

void
hp_table(struct html_page *p, const char *id, const char *caption,
    const char *const *cols)
{
	if (id != NULL)
		hp_fmt(p, "<div class=\"tw\"><table id=\"%s\">", id);
	else
		hp_raw(p, "<div class=\"tw\"><table>");
	if (caption != NULL) {
		hp_raw(p, "<caption>");
		hp_text(p, caption);
		hp_raw(p, "</caption>");
	}
	hp_raw(p, "<thead><tr>");
	for (; *cols != NULL; cols++) {
		int num = (*cols)[0] == '#';

		hp_fmt(p, "<th scope=\"col\" class=\"s%s\" tabindex=\"0\">",
		    num ? " n" : "");
		hp_text(p, *cols + num);
		hp_raw(p, "</th>");
	}
	hp_raw(p, "</tr></thead><tbody>\n");
}

void
hp_table_end(struct html_page *p)
{
	hp_raw(p, "</tbody></table></div>\n");
}

void
hp_tr(struct html_page *p)
{
	hp_raw(p, "<tr>");
}

void
hp_tr_end(struct html_page *p)
{
	hp_raw(p, "</tr>\n");
}

void
hp_td_text(struct html_page *p, const char *s)
{
	hp_raw(p, "<td>");
	hp_text_or(p, s, "&#8212;");
	hp_raw(p, "</td>");
}

void
hp_td_num(struct html_page *p, uint64_t v, const char *unit)
{
	hp_fmt(p, "<td class=\"n\" data-v=\"%llu\">", (unsigned long long)v);
	hp_num(p, v);
	if (unit != NULL)
		hp_fmt(p, " <span class=\"muted\">%s</span>", unit);
	hp_raw(p, "</td>");
}

void
hp_td_pct(struct html_page *p, uint64_t num, uint64_t den)
{
	if (den == 0)
		hp_raw(p, "<td class=\"n\" data-v=\"-1\">");
	else
		hp_fmt(p, "<td class=\"n\" data-v=\"%.4f\">",
		    100.0 * (double)num / (double)den);
	hp_pct(p, num, den);
	hp_raw(p, "</td>");
}

void
hp_td_time(struct html_page *p, int64_t t)
{
	hp_fmt(p, "<td class=\"n\" data-v=\"%lld\">", (long long)t);
	hp_time(p, t);
	hp_raw(p, "</td>");
}

/* Day number (days since 1970-01-01) of "YYYY-MM-DD"; -1 if it is not. */
static int64_t
day_number(const char *day)
{
	int64_t t;

	if (time_parse_iso8601(day, &t) != 0)
		return -1;
	return t / 86400;
}

/* Chart geometry, in SVG user units (the SVG scales to its box). */
#define CH_W 800
#define CH_H 220
#define CH_L 56          /* room for the y-axis labels */
#define CH_B 24          /* room for the x-axis labels */
#define CH_T 10

void
hp_chart_days(struct html_page *p, const char *label,
    const char *good_name, const char *bad_name, const char *unit,
    const struct hp_series_day *d, size_t n)
{
	uint64_t max = 0, tg = 0, tb = 0;
	int64_t first, last, span;
	unsigned id = ++p->ids;
	int any_cap = 0;

	if (n == 0) {
		hp_raw(p, "<p class=\"muted\">No days with data in this "
		    "range: no chart.</p>");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t v = d[i].good + d[i].bad;

		if (v > max)
			max = v;
		if (d[i].cap > max)
			max = d[i].cap;
		if (d[i].cap > 0)
			any_cap = 1;
		tg += d[i].good;
		tb += d[i].bad;
	}
	first = day_number(d[0].day);
	last = day_number(d[n - 1].day);
	span = first < 0 || last < first ? (int64_t)n : last - first + 1;
	/* Days come from the database: escaped like any stored string. */
	hp_fmt(p, "<figure><svg viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-labelledby=\"ch%u-t\" aria-label=\"", CH_W, CH_H, id);
	hp_text(p, label);
	hp_raw(p, ": ");
	hp_text(p, d[0].day);
	hp_raw(p, " to ");
	hp_text(p, d[n - 1].day);
	hp_fmt(p, ", %llu %s %s, %llu %s %s\" "
	    "xmlns=\"http://www.w3.org/2000/svg\"><title id=\"ch%u-t\">",
	    (unsigned long long)tg, unit, good_name,
	    (unsigned long long)tb, unit, bad_name, id);
	hp_text(p, label);
	hp_raw(p, " (");
	hp_text(p, d[0].day);
	hp_raw(p, " to ");
	hp_text(p, d[n - 1].day);
	hp_fmt(p, "; %llu %s %s, %llu %s %s)</title>",
	    (unsigned long long)tg, unit, good_name,
	    (unsigned long long)tb, unit, bad_name);
	/* Axes and the max label. */
	hp_fmt(p, "<g font-size=\"12\" fill=\"#5b6670\">"
	    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#b0b8c0\"/>"
	    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d5dbe1\" "
	    "stroke-dasharray=\"3 3\"/>"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%llu</text>"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
	    "<text x=\"%d\" y=\"%d\">",
	    CH_L, CH_H - CH_B, CH_W - 4, CH_H - CH_B,
	    CH_L, CH_T, CH_W - 4, CH_T,
	    CH_L - 6, CH_T + 4, (unsigned long long)max,
	    CH_L - 6, CH_H - CH_B, CH_L, CH_H - 6);
	hp_text(p, d[0].day);
	hp_fmt(p, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
	    CH_W - 4, CH_H - 6);
	hp_text(p, d[n - 1].day);
	hp_raw(p, "</text></g>");
	{
		double slot = (double)(CH_W - 4 - CH_L) / (double)span;
		double bw = slot > 3 ? slot * 0.8 : slot;

		/* A few days must not make slabs. */
		if (bw > 36)
			bw = 36;
		double ph = CH_H - CH_B - CH_T;

		for (size_t i = 0; i < n; i++) {
			int64_t k = first < 0 ? (int64_t)i :
			    day_number(d[i].day) - first;
			double x = CH_L + slot * (double)k + (slot - bw) / 2;
			double hg = max ? ph * (double)d[i].good /
			    (double)max : 0;
			double hb = max ? ph * (double)d[i].bad /
			    (double)max : 0;
			double base = CH_H - CH_B;

			if (k < 0 || k >= span)
				continue;
			hp_fmt(p, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\" fill=\"#0072b2\"/>", x, base - hg,
			    bw, hg);
			if (hb > 0)
				hp_fmt(p, "<rect x=\"%.1f\" y=\"%.1f\" "
				    "width=\"%.1f\" height=\"%.1f\" "
				    "fill=\"#e69f00\"/>", x, base - hg - hb,
				    bw, hb);
			if (d[i].cap > 0 && max > 0)
				hp_fmt(p, "<rect x=\"%.1f\" y=\"%.1f\" "
				    "width=\"%.1f\" height=\"2\" "
				    "fill=\"#222a33\"/>", x - 1, base - ph *
				    (double)d[i].cap / (double)max - 1, bw + 2);
		}
	}
	hp_raw(p, "</svg><figcaption>");
	hp_fmt(p, "<span class=\"key\" style=\"background:#0072b2\"></span>%s"
	    "<span class=\"key\" style=\"background:#e69f00\"></span>%s "
	    "(%s per UTC day)", good_name, bad_name, unit);
	if (any_cap)
		hp_raw(p, "<span class=\"key cap\"></span>daily cap");
	hp_raw(p, "</figcaption></figure>\n<details><summary>The numbers "
	    "behind this chart</summary>");
	{
		const char *cols[] = { "Day (UTC)", "#good", "#bad", "#total",
		    NULL };
		char cg[64], cb[64];

		snprintf(cg, sizeof cg, "#%s", good_name);
		snprintf(cb, sizeof cb, "#%s", bad_name);
		cols[1] = cg;
		cols[2] = cb;
		hp_fmt(p, "<div class=\"tw\"><table id=\"ch%u-data\">", id);
		hp_raw(p, "<thead><tr>");
		for (int i = 0; cols[i] != NULL; i++) {
			int num = cols[i][0] == '#';

			hp_fmt(p, "<th scope=\"col\" class=\"s%s\" "
			    "tabindex=\"0\">", num ? " n" : "");
			hp_text(p, cols[i] + num);
			hp_raw(p, "</th>");
		}
		hp_raw(p, "</tr></thead><tbody>\n");
		for (size_t i = 0; i < n; i++) {
			hp_tr(p);
			hp_td_text(p, d[i].day);
			hp_td_num(p, d[i].good, unit);
			hp_td_num(p, d[i].bad, unit);
			hp_td_num(p, d[i].good + d[i].bad, unit);
			hp_tr_end(p);
		}
		hp_table_end(p);
	}
	hp_raw(p, "</details>\n");
}

int
hp_write(struct html_page *p, const char *dir, const char *name,
    struct err *err)
{
	char path[4096], tmp[4096];
	const unsigned char *d = p->b.data;
	size_t left = p->b.len;
	int fd = -1, rc;

	if (p->rc != 0)
		return err_set(err, p->rc, "%s: page could not be built (%s)",
		    name, err_str(p->rc));
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
	    sizeof path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, name,
	    (long)getpid()) >= sizeof tmp)
		return err_set(err, ERR_INVAL, "output path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_where(err, "%s", tmp);
		return err_set(err, ERR_IO, "cannot create: %s",
		    strerror(errno));
	}
	while (left > 0) {
		ssize_t w = write(fd, d, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_where(err, "%s", tmp);
			rc = err_set(err, ERR_IO, "cannot write: %s",
			    strerror(w < 0 ? errno : EIO));
			goto fail;
		}
		d += w;
		left -= (size_t)w;
	}
	/* No fsync: the rename is about readers never seeing half a page;
	 * after a power loss the pages are simply generated again. */
	if (close(fd) != 0) {
		fd = -1;
		err_where(err, "%s", tmp);
		rc = err_set(err, ERR_IO, "cannot write: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		err_where(err, "%s", path);
		rc = err_set(err, ERR_IO, "cannot rename into place: %s",
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
