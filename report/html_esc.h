/*
 * report/html_esc.h - the one escaping function of the HTML pages.
 *
 * Every string that came from a report, a mail or an input file (org
 * names, report ids, domains, selectors, comments, ARF headers, error
 * messages of rejected inputs, origins) reaches a page only through
 * html_esc(). Its output is safe both as element text and inside a
 * double- or single-quoted attribute value. It is never safe as a URL:
 * hrefs are built from our own ids only (html.c), never from report data.
 * Control characters (but tab and newline) and the Unicode bidi overrides
 * and isolates (U+202A-U+202E, U+2066-U+2069), which could reorder what
 * an admin reads, are shown as U+FFFD.
 */
#ifndef DW_REPORT_HTML_ESC_H
#define DW_REPORT_HTML_ESC_H

#include "../common/buf.h"

/* Appends s escaped (NULL appends nothing). Returns 0 or a buf error. */
int html_esc(struct buf *b, const char *s);

#endif
