/* report/html_esc.c - see html_esc.h. */
#include <string.h>

#include "html_esc.h"

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
			 * are ordinary white space. */
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "\xef\xbf\xbd";
			else
				continue;
		}
		if ((rc = buf_append(b, run, (size_t)(s - run))) != 0 ||
		    (rc = buf_append_str(b, rep)) != 0)
			return rc;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}
