/*
 * feedprep-internal.h — what the three files of the byte stage (feedprep.h) share: the
 * markup filter and the entry points (feedprep.c), sniffing and decoding (charset.c), raw
 * gzip (gunzip.c). Only those files include it. Each function takes the stage and returns 0
 * or a negative errno, as feedprep_push does.
 */
#ifndef FEEDWATCH_FEEDPREP_INTERNAL_H
#define FEEDWATCH_FEEDPREP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "parse/feedprep.h"

/* Bytes decoded or inflated at a time (a stack buffer each). */
#define FEEDPREP_ISTAGE (16u << 10)

/* feedprep.c: runs UTF-8 bytes through the markup filter into the output. */
int prep_filter(struct feedprep *pp, const char *buf, size_t n);
/* feedprep.c: runs bytes of the (inflated) document through sniffing, decoding, the filter. */
int prep_plain_push(struct feedprep *pp, const char *buf, size_t len);

/* charset.c: decides kind and encoding from the held head (1 when decided, 0 when not yet). */
int prep_sniff(struct feedprep *pp, bool final);
/* charset.c: decodes n bytes of the document to UTF-8 into the filter. */
int prep_decode(struct feedprep *pp, const char *buf, size_t n);
/* charset.c: at the end of the input, the bytes held for a cut sequence. */
int prep_decode_finish(struct feedprep *pp);
/* charset.c: closes the converter. */
void prep_charset_done(struct feedprep *pp);

/* gunzip.c: starts the inflater. */
int prep_gz_start(struct feedprep *pp);
/* gunzip.c: runs compressed bytes through the inflater into prep_plain_push. */
int prep_gz_push(struct feedprep *pp, const char *buf, size_t len);
/* gunzip.c: records a gzip error (FEEDPREP_ERR_GZIP_DATA with zlib's reason). */
int prep_gz_fail(struct feedprep *pp, const char *what);
/* gunzip.c: releases the inflater. */
void prep_gz_done(struct feedprep *pp);

#endif
