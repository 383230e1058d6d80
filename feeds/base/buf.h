/*
 * buf.h — a growable byte buffer with a hard ceiling fixed at init (curl dynbuf style).
 *
 * The buffer owns its bytes and keeps them NUL-terminated; buf_done() releases them,
 * buf_steal() hands them out. Appending past the ceiling fails with -EMSGSIZE and leaves
 * the content unchanged; an allocation failure gives -ENOMEM. Pure; any thread.
 */
#ifndef FEEDWATCH_BUF_H
#define FEEDWATCH_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
    char *data;   /* NUL-terminated when non-NULL */
    size_t len;   /* bytes used, without the NUL */
    size_t alloc; /* bytes allocated */
    size_t max;   /* ceiling on len */
};

/* Prepares an empty buffer that may grow up to max bytes. */
void buf_init(struct buf *b, size_t max);

/* Appends len bytes the slow way (growing the buffer): what buf_append falls back to. */
int buf_append_grow(struct buf *b, const void *data, size_t len);

/*
 * Appends len bytes; -EMSGSIZE past the ceiling, -ENOMEM on OOM. Inline: the common case
 * (the bytes fit in what is allocated) is one memcpy without a call.
 */
static inline int
buf_append(struct buf *b, const void *data, size_t len)
{
    if (len < b->alloc - b->len && len <= b->max - b->len) {
        if (len > 0)
            memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append_grow(b, data, len);
}

/* Appends a NUL-terminated string. */
int buf_append_str(struct buf *b, const char *s);

/* Appends one byte. */
int buf_append_char(struct buf *b, char c);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* The content as a NUL-terminated string ("" when empty); valid until the next change. */
const char *buf_str(const struct buf *b);

/* Hands the content out as a malloc'ed string (NULL on OOM) and empties the buffer. */
char *buf_steal(struct buf *b);

/* Releases the buffer's memory. */
void buf_done(struct buf *b);

#endif
