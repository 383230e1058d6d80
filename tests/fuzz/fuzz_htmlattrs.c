/*
 * fuzz_htmlattrs.c — html_prep() against libxml2's own HTML parser: no start tag that
 * libxml2 reads from html_prep()'s output carries more than HTML_MAX_ATTRS attributes.
 *
 * A first byte below 16 picks the charset html_prep() is given (none, UTF-8, or one that is
 * not ASCII-compatible: UTF-7, EBCDIC, ISO-2022-JP, UTF-16...) and the rest is the page; any
 * other input is a page without a charset (a real page of the seeds). When
 * html_prep() accepts it, its output is parsed exactly as html_parse() parses it (the
 * context htmlReadMemory makes, the options, "UTF-8"), with a SAX startElement that counts
 * each tag's attributes before it builds the tree: more than HTML_MAX_ATTRS is a crash, so an
 * input that hides a big tag from the pre-pass is found. Other oracles: html_prep() returns 0,
 * -EMSGSIZE or -ENOMEM; its output is valid UTF-8 without NUL bytes; html_max_attrs() of an
 * accepted output is at most HTML_MAX_ATTRS and at least the largest tag libxml2 saw.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>

#include "fuzz.h"
#include "text/html.h"

#define HTMLATTRS_FUZZ_MAX (256u * 1024)

static const char *const charsets[] = {
    NULL, "UTF-8", "UTF-7", "IBM037", "ISO-2022-JP", "UTF-16LE", "windows-1252", "SHIFT_JIS",
};

static size_t max_seen; /* the most attributes one startElement got in the parse */

/* SAX: counts the attributes of a start tag, then builds the element as libxml2 would. */
static void
on_sax_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    size_t n = 0;

    while (atts && atts[2 * n])
        n++;
    assert(n <= HTML_MAX_ATTRS);
    if (n > max_seen)
        max_seen = n;
    xmlSAX2StartElement(ctx, name, atts);
}

/* html_parse()'s libxml2 call (htmlReadMemory and its htmlDoRead) with the counting SAX. */
static void
parse_counted(const char *text, size_t n)
{
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(text, (int)n);

    if (!ctxt)
        return;
    htmlDefaultSAXHandlerInit();
    if (ctxt->sax) {
        memcpy(ctxt->sax, &htmlDefaultSAXHandler, sizeof(xmlSAXHandlerV1));
        ctxt->sax->startElement = on_sax_start;
    }
    htmlCtxtUseOptions(ctxt, HTML_PARSE_OPTIONS);
    ctxt->html = 1;
    xmlCharEncodingHandlerPtr hdlr = xmlFindCharEncodingHandler("UTF-8");
    if (hdlr) {
        xmlSwitchToEncoding(ctxt, hdlr);
        if (ctxt->input->encoding)
            xmlFree((xmlChar *)ctxt->input->encoding);
        ctxt->input->encoding = xmlStrdup(BAD_CAST "UTF-8");
    }
    htmlParseDocument(ctxt);
    xmlDocPtr doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (ctxt->dictNames && doc && doc->dict == ctxt->dict)
        ctxt->dict = NULL;
    xmlFreeParserCtxt(ctxt);
    xmlFreeDoc(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    char *text = NULL;
    size_t n = 0;

    if (!ready) {
        xmlInitParser();
        ready = true;
    }
    if (size == 0)
        return 0;
    const char *cs = NULL;
    if (data[0] < 16) {
        cs = charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
        data++;
        size--;
    }
    if (size > HTMLATTRS_FUZZ_MAX)
        size = HTMLATTRS_FUZZ_MAX;

    int r = html_prep((const char *)data, size, cs, &text, &n);
    assert(r == 0 || r == -EMSGSIZE || r == -ENOMEM);
    if (r < 0)
        return 0;
    assert(text && strlen(text) == n && fuzz_utf8_ok(text));
    size_t bound = html_max_attrs(text, n, HTML_MAX_ATTRS);
    assert(bound <= HTML_MAX_ATTRS);
    max_seen = 0;
    if (n > 0)
        parse_counted(text, n);
    /* Every attribute libxml2 kept was a name the pre-pass counted. */
    assert(max_seen <= bound);
    free(text);
    return 0;
}
