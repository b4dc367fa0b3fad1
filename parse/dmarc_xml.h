/*
 * parse/dmarc_xml.h - DMARC aggregate report XML (RFC 7489 App. C and
 * RFC 9990) with libxml2's SAX2 parser, streaming in both passes (memory
 * does not grow with the number of records). The only file that includes
 * libxml2.
 *
 * Safety: XML_PARSE_NONET, no entity substitution, no DTD loading, no
 * XML_PARSE_HUGE; a document with a DOCTYPE is refused (ERR_HOSTILE); an
 * external entity loader that refuses everything is installed. Every text
 * field is capped at LIM_FIELD_BYTES, nesting at LIM_XML_DEPTH, records at
 * LIM_RECORDS, counts at LIM_RECORD_COUNT.
 *
 * Leniency: namespace-agnostic (match by local name), any child order,
 * trimmed text, lower-cased enums with aliases, empty = absent, rows with
 * no/garbage source_ip skipped with a warning (not the report), and every
 * deviation D1-D38 of standards.md 1.4 accepted with a coded warning.
 */
#ifndef DW_PARSE_DMARC_XML_H
#define DW_PARSE_DMARC_XML_H

#include "../common/err.h"
#include "../common/reader.h"
#include "report.h"

struct dmarc_xml_opts {
	/* Second attempt for a document that was not well-formed: libxml2
	 * recover mode (its pull parser, on a thread of its own for the
	 * duration of the call); the report carries W_XML_RECOVERED, and
	 * W_RENESTED where known elements were put back under their parent. */
	int recover;
};

/*
 * Parses one aggregate report from `in`, handing it to `sink`.
 *
 * Returns 0 when the report was parsed and sink->end() ran;
 * ERR_STOPPED when a sink callback returned it;
 * ERR_NOREPORT when the bytes are not a DMARC <feedback> document (e.g.
 *   Yahoo's literal "unused", or another XML document);
 * ERR_FORMAT when not well-formed or a required part is unusable
 *   (no report_metadata / date_range / policy domain), or when fewer
 *   <record> elements were read than the document holds (out of place,
 *   after </feedback>, lost to a broken structure): such a report is
 *   never handed to sink->end(), so a caller rolls back what it stored;
 * ERR_HOSTILE for DOCTYPE / entity declarations;
 * ERR_TOO_LARGE when a LIM_* cap is hit (the message names the cap);
 * ERR_NOMEM when an allocation failed, ours or libxml2's (also when
 *   libxml2 went on or called it a syntax error: sink->end() is then not
 *   called);
 * or any negative code a sink callback returned.
 * On failure err says what, and where as "line L column C, <element path>".
 * No global state of ours but libxml2's, set up once (allocation
 * functions, no entity loader): safe to call from several threads on
 * different inputs.
 */
int dmarc_xml_parse(struct reader *in, const struct dmarc_xml_opts *opts,
    const struct report_sink *sink, struct err *err);

/* Cheap content test on the first bytes of a payload (after BOM and white
 * space): 1 if it looks like XML ('<'), else 0. */
int dmarc_xml_sniff(const unsigned char *p, size_t n);

#endif
