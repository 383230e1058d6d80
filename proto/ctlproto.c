/*
 * ctlproto.c — the command table of ctlproto.h and the one JSON string helper of the
 * daemon's answers, events and hook documents.
 */
#include "ctlproto.h"

#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

const struct ctlproto_cmd ctlproto_cmds[] = {
    {CTL_CMD_STATUS, CTLPROTO_READONLY},      {CTL_CMD_FEEDS, CTLPROTO_READONLY},
    {CTL_CMD_ITEMS, CTLPROTO_READONLY},       {CTL_CMD_ITEM, CTLPROTO_READONLY},
    {CTL_CMD_ALERTS, CTLPROTO_READONLY},      {CTL_CMD_SEARCH, CTLPROTO_READONLY},
    {CTL_CMD_WATCH, CTLPROTO_READONLY},       {CTL_CMD_METRICS, CTLPROTO_READONLY},
    {CTL_CMD_POLL, CTLPROTO_PRIVILEGED},      {CTL_CMD_RELOAD, CTLPROTO_PRIVILEGED},
    {CTL_CMD_ADD, CTLPROTO_PRIVILEGED},       {CTL_CMD_REMOVE, CTLPROTO_PRIVILEGED},
    {CTL_CMD_PAUSE, CTLPROTO_PRIVILEGED},     {CTL_CMD_RESUME, CTLPROTO_PRIVILEGED},
    {CTL_CMD_REDELIVER, CTLPROTO_PRIVILEGED}, {CTL_CMD_EVENTS, CTLPROTO_READONLY},
};

const size_t ctlproto_n_cmds = sizeof(ctlproto_cmds) / sizeof(ctlproto_cmds[0]);

/* The command called name, or NULL. */
const struct ctlproto_cmd *
ctlproto_cmd_find(const char *name)
{
    for (size_t i = 0; name && i < ctlproto_n_cmds; i++)
        if (strcmp(ctlproto_cmds[i].name, name) == 0)
            return &ctlproto_cmds[i];
    return NULL;
}

/*
 * Copies the valid UTF-8 sequences of s (len bytes) to out, each invalid byte as U+FFFD;
 * returns the bytes written (out may be NULL: only counted).
 */
static size_t
utf8_repair(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = len, o = 0;
    while (left > 0) {
        uint32_t cp;
        int n = utf8_decode(p, left, &cp); /* 0: a sequence cut by the end, invalid too */
        if (n > 0) {
            if (out)
                memcpy(out + o, p, (size_t)n);
            o += (size_t)n;
        } else {
            if (out)
                memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            n = 1;
        }
        p += n;
        left -= (size_t)n;
    }
    return o;
}

/* s as a JSON string (null for NULL; invalid UTF-8 bytes become U+FFFD), or NULL on OOM. */
json_t *
ctlproto_json_string(const char *s)
{
    if (!s)
        return json_null();
    size_t len = strlen(s);
    size_t need = utf8_repair(s, len, NULL);
    if (need == len) /* valid: every sequence was kept as it was */
        return json_stringn_nocheck(s, len);
    char *out = malloc(need);
    if (!out)
        return NULL;
    (void)utf8_repair(s, len, out);
    json_t *j = json_stringn_nocheck(out, need);
    free(out);
    return j;
}
