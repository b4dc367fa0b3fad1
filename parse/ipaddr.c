/* parse/ipaddr.c - see ipaddr.h */
#include <arpa/inet.h>
#include <string.h>

#include "../common/err.h"
#include "ipaddr.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Dotted quad of b[0..3] into out (>= 16 bytes). inet_ntop() does the same
 * through snprintf, which showed up in profiles at a million rows. */
static void
v4_text(const unsigned char *b, char *out)
{
	char *o = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (i > 0)
			*o++ = '.';
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
	}
	*o = '\0';
}

int
ipaddr_parse(const char *s, size_t len, struct ipaddr *out)
{
	char tmp[64];
	unsigned char b[16];

	/* The longest legal spelling (IPv6 with embedded IPv4) is 45 bytes. */
	if (len == 0 || len >= sizeof tmp)
		return ERR_FORMAT;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (strlen(tmp) != len)
		return ERR_FORMAT;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, tmp, b) == 1) {
		out->family = 4;
		memcpy(out->bin, v4mapped, 12);
		memcpy(out->bin + 12, b, 4);
		v4_text(b, out->text);
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, b) != 1)
		return ERR_FORMAT;
	memcpy(out->bin, b, 16);
	if (memcmp(b, v4mapped, 12) == 0) {
		out->family = 4;
		v4_text(b + 12, out->text);
		return 0;
	}
	out->family = 6;
	if (inet_ntop(AF_INET6, b, out->text, sizeof out->text) == NULL)
		return ERR_FORMAT;
	return 0;
}
