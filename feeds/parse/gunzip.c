/*
 * gunzip.c — the byte stage's raw gzip (feedprep.c has the story): a document that starts
 * with the gzip magic, from a server that compressed it without a Content-Encoding, is
 * inflated 16 KB at a time into the rest of the stage, member after member, up to max_size
 * bytes.
 */
#include "parse/feedprep.h"
#include "parse/feedprep-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

int
prep_gz_fail(struct feedprep *pp, const char *what)
{
    (void)snprintf(pp->gz_msg, sizeof(pp->gz_msg), "%s", what);
    pp->error = FEEDPREP_ERR_GZIP_DATA;
    return -EPROTO;
}

int
prep_gz_start(struct feedprep *pp)
{
    z_stream *zs = calloc(1, sizeof(*zs));

    if (!zs) {
        pp->error = FEEDPREP_ERR_NOMEM;
        return -ENOMEM;
    }
    /* 16 + MAX_WBITS: a gzip wrapper (header and CRC-32 trailer), nothing else. */
    if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
        free(zs);
        pp->error = FEEDPREP_ERR_NOMEM;
        return -ENOMEM;
    }
    pp->zs = zs;
    pp->gz = 2;
    return 0;
}

/*
 * Inflates compressed bytes into prep_plain_push, 16 KB at a time, until the input is used up
 * (*ret_used = len) or a gzip member ends (pp->gz_between, *ret_used = what it took). The
 * inflated size is checked before each block goes on, so a bomb stops after max_size bytes
 * of work and memory for one block.
 */
static int
gz_inflate(struct feedprep *pp, const char *buf, size_t len, size_t *ret_used)
{
    z_stream *zs = pp->zs;
    unsigned char out[FEEDPREP_ISTAGE];
    size_t used = 0;
    int r, zr;

    while (used < len) {
        uInt take = len - used > (1u << 30) ? (1u << 30) : (uInt)(len - used);

        zs->next_in = (z_const Bytef *)(const void *)(buf + used);
        zs->avail_in = take;
        do {
            size_t got;

            zs->next_out = out;
            zs->avail_out = sizeof(out);
            zr = inflate(zs, Z_NO_FLUSH);
            if (zr == Z_MEM_ERROR) {
                pp->error = FEEDPREP_ERR_NOMEM;
                return -ENOMEM;
            }
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
                return prep_gz_fail(pp, zs->msg ? zs->msg : "corrupt compressed data");
            got = sizeof(out) - zs->avail_out;
            if (got > pp->max_size - pp->gz_out) {
                /* What fits goes on first, so the outcome does not depend on the split. */
                size_t fit = pp->max_size - pp->gz_out;

                pp->gz_out = pp->max_size;
                if (fit > 0 && (r = prep_plain_push(pp, (const char *)out, fit)) < 0)
                    return r;
                pp->error = FEEDPREP_ERR_GZIP_SIZE;
                return -EMSGSIZE;
            }
            pp->gz_out += got;
            if (got > 0 && (r = prep_plain_push(pp, (const char *)out, got)) < 0)
                return r;
            if (zr == Z_STREAM_END) {
                pp->gz_between = true;
                *ret_used = used + (take - zs->avail_in);
                return 0;
            }
            if (zr == Z_BUF_ERROR && got == 0)
                break; /* no progress possible: every input byte is taken */
        } while (zs->avail_in > 0 || zs->avail_out == 0);
        used += take - zs->avail_in;
        if (zs->avail_in > 0)
            break; /* defensive: never spin */
    }
    *ret_used = len;
    return 0;
}

/*
 * Runs len more compressed bytes through the inflater. A member that ends may be followed by
 * another (RFC 1952 §2.2: its magic restarts the inflater); anything else after the last
 * member is ignored, as gunzip does.
 */
int
prep_gz_push(struct feedprep *pp, const char *buf, size_t len)
{
    int r;

    while (len > 0 && !pp->gz_end) {
        size_t used;

        if (pp->gz_between) {
            unsigned char magic[2];

            while (pp->gz_magic_len < 2 && len > 0) {
                pp->gz_magic[pp->gz_magic_len++] = (unsigned char)*buf++;
                len--;
            }
            if (pp->gz_magic_len < 2)
                return 0;
            pp->gz_magic_len = 0;
            if (pp->gz_magic[0] != 0x1f || pp->gz_magic[1] != 0x8b) {
                pp->gz_end = true;
                return 0;
            }
            if (inflateReset(pp->zs) != Z_OK)
                return prep_gz_fail(pp, "cannot restart the inflater");
            pp->gz_between = false;
            memcpy(magic, pp->gz_magic, 2);
            if ((r = gz_inflate(pp, (const char *)magic, 2, &used)) < 0)
                return r;
            continue;
        }
        if ((r = gz_inflate(pp, buf, len, &used)) < 0)
            return r;
        buf += used;
        len -= used;
    }
    return 0;
}

/* Releases the inflater, if there is one. */
void
prep_gz_done(struct feedprep *pp)
{
    if (pp->zs) {
        (void)inflateEnd(pp->zs);
        free(pp->zs);
        pp->zs = NULL;
    }
}
