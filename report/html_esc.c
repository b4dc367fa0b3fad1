/* report/html_esc.c - see html_esc.h. */
#include <string.h>

#include "html_esc.h"

/* U+FFFD, shown in place of what must not reach a page as itself. */
#define REPLACEMENT "\xef\xbf\xbd"

/*
 * Length of a Unicode bidi override or isolate at s (UTF-8), else 0:
 * U+202A-U+202E (LRE, RLE, PDF, LRO, RLO) and U+2066-U+2069 (LRI, RLI,
 * FSI, PDI). A reporter name holding one could show the text after it
 * reversed ("gmail.com" drawn as "moc.liamg", a report id that reads as
 * another). An entity (&#x202E;) would still act, so they are replaced.
 */
static size_t
bidi_len(const unsigned char *s)
{
	if (s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3;
	if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

int
html_esc(struct buf *b, const char *s)
{
	const char *run;
	int rc;

	if (s == NULL)
		return 0;
	for (run = s; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		const char *rep;
		size_t skip = 0;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		/* The backtick closes unquoted attributes in old engines;
		 * we always quote, but it costs nothing to be sure. */
		case '`': rep = "&#96;"; break;
		default:
			/* Control characters are HTML parse errors and can
			 * hide text (CR, ESC sequences in a terminal that
			 * views the file): shown as U+FFFD. Tab and newline
			 * are ordinary white space. The bytes after 0xe2 are
			 * read only while they are not the terminating NUL
			 * (bidi_len stops at the first byte that differs). */
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = REPLACEMENT;
			else if ((skip = bidi_len((const unsigned char *)s)) > 0)
				rep = REPLACEMENT;
			else
				continue;
		}
		if ((rc = buf_append(b, run, (size_t)(s - run))) != 0 ||
		    (rc = buf_append_str(b, rep)) != 0)
			return rc;
		if (skip > 1)
			s += skip - 1;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}
