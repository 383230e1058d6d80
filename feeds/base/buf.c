/* buf.c — growable byte buffer with a hard ceiling. */
#include "base/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Prepares an empty buffer that may grow up to max bytes. */
void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

static int
buf_grow(struct buf *b, size_t need)
{
    size_t n;
    char *d;

    /* need counts the terminating NUL as well. */
    if (need <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            n = need;
            break;
        }
        n *= 2;
    }
    if (b->max < SIZE_MAX && n > b->max + 1)
        n = b->max + 1;
    d = realloc(b->data, n);
    if (!d)
        return -ENOMEM;
    b->data = d;
    b->alloc = n;
    return 0;
}

/* Appends len bytes the slow way (growing the buffer): what buf_append falls back to. */
int
buf_append_grow(struct buf *b, const void *data, size_t len)
{
    int r;

    if (len > b->max || b->len > b->max - len)
        return -EMSGSIZE;
    r = buf_grow(b, b->len + len + 1);
    if (r < 0)
        return r;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* Appends a NUL-terminated string. */
int
buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* Appends one byte. */
int
buf_append_char(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

/* Empties the buffer, keeping its memory. */
void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* The content as a NUL-terminated string ("" when empty); valid until the next change. */
const char *
buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

/* Hands the content out as a malloc'ed string (NULL on OOM) and empties the buffer. */
char *
buf_steal(struct buf *b)
{
    char *s;

    if (!b->data)
        return strdup("");
    s = b->data;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return s;
}

/* Releases the buffer's memory. */
void
buf_done(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}
