/*
 * parse/ipaddr.h - IP address text -> canonical text and sortable bytes.
 *
 * Reports carry sender addresses as text in many spellings (D31:
 * uncompressed IPv6, leading zeros, upper-case hex). One address must give
 * one key, so every parser canonicalises through here: inet_pton, then
 * inet_ntop (RFC 5952 for IPv6). IPv4-mapped IPv6 (::ffff:a.b.c.d) is
 * reported as the IPv4 address it is.
 */
#ifndef DW_PARSE_IPADDR_H
#define DW_PARSE_IPADDR_H

#include <stddef.h>

struct ipaddr {
	int family;              /* 4 or 6 */
	unsigned char bin[16];   /* IPv4 as ::ffff:a.b.c.d, so both sort */
	char text[48];           /* canonical text, NUL-terminated */
};

/* s: len bytes (need not be NUL-terminated), already trimmed.
 * Returns 0, or ERR_FORMAT when s is not an IPv4/IPv6 address. */
int ipaddr_parse(const char *s, size_t len, struct ipaddr *out);

#endif
