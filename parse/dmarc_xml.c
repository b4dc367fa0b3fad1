/* STUB - replaced by the parser work. */
#include "dmarc_xml.h"
int dmarc_xml_parse(struct reader *in, const struct dmarc_xml_opts *opts,
    const struct report_sink *sink, struct err *err)
{ (void)in; (void)opts; (void)sink; return err_set(err, ERR_UNSUPPORTED, "stub"); }
int dmarc_xml_sniff(const unsigned char *p, size_t n) { (void)p; (void)n; return 0; }
