/*
 * ctlreq.c — the control protocol's request decoding (ctlreq.h).
 */
#include "ctlreq.h"

#include <stdio.h>

bool
ctlreq_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return false;
    return true;
}

json_t *
ctlreq_decode(const char *line, size_t len, char err[CTLREQ_ERR_MAX])
{
    json_error_t jerr;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

    err[0] = '\0';
    if (!req) {
        (void)snprintf(err, CTLREQ_ERR_MAX, "malformed request: %s at column %d", jerr.text,
                       jerr.column);
        return NULL;
    }
    if (!json_is_object(req)) {
        json_decref(req);
        (void)snprintf(err, CTLREQ_ERR_MAX, "malformed request: not a JSON object");
        return NULL;
    }
    return req;
}
