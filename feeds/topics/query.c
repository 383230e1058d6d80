#include "topics/query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "text/normalize.h"
#include "topics/place.h"

enum qtok_kind {
    T_END,
    T_LPAREN,
    T_RPAREN,
    T_WORD,
    T_PHRASE,
    T_AND,
    T_OR,
    T_NOT,
    T_MINUS,
    T_TITLE,
    T_SET, /* place:X or alias:X; inner_* is X without quotes */
};

struct qtok {
    enum qtok_kind kind;
    size_t start, end;             /* bytes of the token in the query */
    size_t inner_start, inner_end; /* T_PHRASE: between the quotes; T_WORD: without '*' */
    int slop;                      /* T_PHRASE: -1 or ~N */
    bool prefix;                   /* T_WORD ended with '*' */
    enum query_set set;            /* T_SET */
};

struct qparser {
    const char *name;
    const char *text;
    size_t len;
    size_t pos;      /* lexer position (bytes) */
    struct qtok tok; /* the current token */
    size_t depth;
    size_t n_leaves;
    int err;
    char *errmsg;
};

static size_t
column_of(const char *text, size_t off)
{
    size_t col = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)text[i] & 0xc0) != 0x80)
            col++;
    return col;
}

/* Records the first error as "topic \"NAME\": WHAT at column N" and returns -EINVAL. */
static int perr(struct qparser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct qparser *p, size_t off, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (p->err)
        return p->err;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    p->err = -EINVAL;
    int n;
    if (p->name)
        n = asprintf(&p->errmsg, "topic \"%s\": %s at column %zu", p->name, what,
                     column_of(p->text, off));
    else
        n = asprintf(&p->errmsg, "query: %s at column %zu", what, column_of(p->text, off));
    if (n < 0) {
        p->errmsg = NULL;
        p->err = -ENOMEM;
    }
    return p->err;
}

static int
oom(struct qparser *p)
{
    if (!p->err)
        p->err = -ENOMEM;
    return p->err;
}

static bool
is_space_at(const char *s, size_t len, size_t i, size_t *ret_n)
{
    unsigned char c = (unsigned char)s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        *ret_n = 1;
        return true;
    }
    if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0) { /* U+00A0 */
        *ret_n = 2;
        return true;
    }
    if (c == 0xe3 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
        (unsigned char)s[i + 2] == 0x80) { /* U+3000 ideographic space */
        *ret_n = 3;
        return true;
    }
    return false;
}

/* True at the end or before whitespace, a parenthesis or a quote. */
static bool
is_delim(const struct qparser *p, size_t i)
{
    size_t n;
    if (i >= p->len)
        return true;
    char c = p->text[i];
    return c == '(' || c == ')' || c == '"' || is_space_at(p->text, p->len, i, &n);
}

static const char *
tok_name(const struct qtok *t)
{
    switch (t->kind) {
    case T_AND:
        return "AND";
    case T_OR:
        return "OR";
    case T_NOT:
        return "NOT";
    case T_MINUS:
        return "'-'";
    case T_TITLE:
        return "'title:'";
    case T_SET:
        return "a place: or alias: term";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    default:
        return "a term";
    }
}

/* Reads the next token into p->tok. */
static int
lex(struct qparser *p)
{
    struct qtok *t = &p->tok;
    size_t n;

    while (p->pos < p->len && is_space_at(p->text, p->len, p->pos, &n))
        p->pos += n;
    memset(t, 0, sizeof(*t));
    t->start = p->pos;
    t->slop = -1;
    if (p->pos >= p->len) {
        t->kind = T_END;
        t->end = p->pos;
        return 0;
    }
    const char *s = p->text;
    char c = s[p->pos];
    if (c == '(' || c == ')') {
        t->kind = c == '(' ? T_LPAREN : T_RPAREN;
        t->end = ++p->pos;
        return 0;
    }
    if (c == '"') {
        const char *close = memchr(s + p->pos + 1, '"', p->len - p->pos - 1);
        if (!close)
            return perr(p, p->pos, "unterminated quote");
        t->kind = T_PHRASE;
        t->inner_start = p->pos + 1;
        t->inner_end = (size_t)(close - s);
        p->pos = t->inner_end + 1;
        if (p->pos < p->len && s[p->pos] == '~') {
            size_t d = ++p->pos;
            long v = 0;
            while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') {
                if (v <= QUERY_MAX_SLOP)
                    v = v * 10 + (s[p->pos] - '0');
                p->pos++;
            }
            if (p->pos == d || !is_delim(p, p->pos))
                return perr(p, d, "expected a number after '~'");
            if (v > QUERY_MAX_SLOP)
                return perr(p, d, "proximity ~N too large (at most %d)", QUERY_MAX_SLOP);
            t->slop = (int)v;
        }
        t->end = p->pos;
        if (!is_delim(p, p->pos))
            return perr(p, p->pos, "expected a space after the phrase");
        return 0;
    }
    if (c == '-' && p->pos + 1 <= p->len) {
        t->kind = T_MINUS;
        t->end = ++p->pos;
        return 0;
    }
    if (p->len - p->pos >= 6 && strncasecmp(s + p->pos, "title:", 6) == 0) {
        t->kind = T_TITLE;
        p->pos += 6;
        t->end = p->pos;
        return 0;
    }
    if (p->len - p->pos >= 6 &&
        (strncasecmp(s + p->pos, "place:", 6) == 0 || strncasecmp(s + p->pos, "alias:", 6) == 0)) {
        t->kind = T_SET;
        t->set = (s[p->pos] | 0x20) == 'p' ? QUERY_SET_PLACE : QUERY_SET_ALIAS;
        p->pos += 6;
        if (p->pos < p->len && s[p->pos] == '"') {
            const char *close = memchr(s + p->pos + 1, '"', p->len - p->pos - 1);
            if (!close)
                return perr(p, p->pos, "unterminated quote");
            t->inner_start = p->pos + 1;
            t->inner_end = (size_t)(close - s);
            p->pos = t->inner_end + 1;
            if (!is_delim(p, p->pos))
                return perr(p, p->pos, "expected a space after the phrase");
        } else {
            t->inner_start = p->pos;
            while (!is_delim(p, p->pos))
                p->pos++;
            t->inner_end = p->pos;
        }
        t->end = p->pos;
        if (t->inner_end == t->inner_start)
            return perr(p, t->start, "expected a name after '%.6s'", s + t->start);
        return 0;
    }
    size_t start = p->pos;
    while (!is_delim(p, p->pos))
        p->pos++;
    t->end = p->pos;
    size_t wlen = t->end - start;
    if (wlen == 3 && memcmp(s + start, "AND", 3) == 0) {
        t->kind = T_AND;
        return 0;
    }
    if (wlen == 2 && memcmp(s + start, "OR", 2) == 0) {
        t->kind = T_OR;
        return 0;
    }
    if (wlen == 3 && memcmp(s + start, "NOT", 3) == 0) {
        t->kind = T_NOT;
        return 0;
    }
    t->kind = T_WORD;
    t->inner_start = start;
    t->inner_end = t->end;
    if (s[t->end - 1] == '*') {
        t->prefix = true;
        t->inner_end--;
    }
    for (size_t i = start; i < t->inner_end; i++) {
        if (s[i] == '*')
            return perr(p, i, "'*' is allowed only at the end of a word");
        if (s[i] == '~')
            return perr(p, i, "'~' applies only to a quoted phrase");
    }
    return 0;
}

static bool
starts_term(enum qtok_kind k)
{
    return k == T_WORD || k == T_PHRASE || k == T_LPAREN || k == T_NOT || k == T_MINUS ||
           k == T_TITLE || k == T_SET;
}

static void
unit_done(struct query_unit *u)
{
    for (size_t i = 0; i < u->n_parts; i++)
        free(u->parts[i]);
    free(u->parts);
    free(u->joined);
}

static void
node_free(struct query_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_children; i++)
        node_free(n->children[i]);
    free(n->children);
    for (size_t i = 0; i < n->n_units; i++)
        unit_done(&n->units[i]);
    free(n->units);
    free(n->text);
    free(n->set_name);
    free(n);
}

/* Units being built from the tokens of a word or phrase. */
struct unit_builder {
    struct query_unit units[QUERY_MAX_UNITS];
    size_t n_units;
    uint32_t run; /* run of the last unit */
    bool too_many;
    int err;
};

static int
on_query_token(const struct normalize_token *tok, void *userdata)
{
    struct unit_builder *b = userdata;
    struct query_unit *u;

    if (b->n_units == 0 || tok->run != b->run) {
        if (b->n_units == QUERY_MAX_UNITS) {
            b->too_many = true;
            return 1;
        }
        u = &b->units[b->n_units++];
        b->run = tok->run;
    } else {
        u = &b->units[b->n_units - 1];
    }
    /* The token's bytes are not NUL-terminated: copy exactly norm_len of them. */
    char *s = malloc(tok->norm_len + 1);
    if (s) {
        memcpy(s, tok->norm, tok->norm_len);
        s[tok->norm_len] = '\0';
    }
    if (!s) {
        b->err = -ENOMEM;
        return -ENOMEM;
    }
    if (tok->joined) {
        free(u->joined);
        u->joined = s;
        return 0;
    }
    char **parts = realloc(u->parts, (u->n_parts + 1) * sizeof(*parts));
    if (!parts) {
        free(s);
        b->err = -ENOMEM;
        return -ENOMEM;
    }
    u->parts = parts;
    u->parts[u->n_parts++] = s;
    return 0;
}

static void
builder_done(struct unit_builder *b)
{
    for (size_t i = 0; i < b->n_units; i++)
        unit_done(&b->units[i]);
    b->n_units = 0;
}

/* A TERM or PHRASE leaf from the current word or phrase token. */
static struct query_node *
parse_leaf(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;
    struct unit_builder b = {0};

    if (++p->n_leaves > QUERY_MAX_LEAVES) {
        perr(p, t->start, "too many terms (at most %d)", QUERY_MAX_LEAVES);
        return NULL;
    }
    int r = normalize_tokenize(p->text + t->inner_start, t->inner_end - t->inner_start, 0,
                               on_query_token, &b, NULL);
    if (r < 0 || b.err) {
        builder_done(&b);
        oom(p);
        return NULL;
    }
    if (b.too_many) {
        builder_done(&b);
        perr(p, t->start, "phrase too long (at most %d words)", QUERY_MAX_UNITS);
        return NULL;
    }
    if (b.n_units == 0) {
        builder_done(&b);
        if (t->kind == T_PHRASE)
            perr(p, t->start, "empty phrase");
        else
            perr(p, t->start, "no letters or digits in '%.*s'", (int)(t->end - t->start),
                 p->text + t->start);
        return NULL;
    }
    struct query_node *n = calloc(1, sizeof(*n));
    if (!n) {
        builder_done(&b);
        oom(p);
        return NULL;
    }
    n->units = calloc(b.n_units, sizeof(*n->units));
    n->text = strndup(p->text + t->start, t->end - t->start);
    if (!n->units || !n->text) {
        builder_done(&b);
        node_free(n);
        oom(p);
        return NULL;
    }
    memcpy(n->units, b.units, b.n_units * sizeof(*n->units));
    n->n_units = b.n_units;
    n->op = b.n_units == 1 ? QUERY_TERM : QUERY_PHRASE;
    n->slop = t->kind == T_PHRASE && b.n_units > 1 ? t->slop : -1;
    n->title_only = title_only;
    n->column = column_of(p->text, t->start);
    if (t->kind == T_WORD && t->prefix)
        n->units[n->n_units - 1].prefix = true;
    if (lex(p) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* A TERM of a set (place:X, alias:NAME) from the current T_SET token. */
static struct query_node *
parse_set(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;
    const char *v = p->text + t->inner_start;
    size_t vlen = t->inner_end - t->inner_start;

    if (++p->n_leaves > QUERY_MAX_LEAVES) {
        perr(p, t->start, "too many terms (at most %d)", QUERY_MAX_LEAVES);
        return NULL;
    }
    struct query_node *n = calloc(1, sizeof(*n));
    if (!n) {
        oom(p);
        return NULL;
    }
    n->op = QUERY_TERM;
    n->slop = -1;
    n->set = t->set;
    n->title_only = title_only;
    n->column = column_of(p->text, t->start);
    n->text = strndup(p->text + t->start, t->end - t->start);
    if (!n->text) {
        node_free(n);
        oom(p);
        return NULL;
    }
    if (t->set == QUERY_SET_PLACE) {
        size_t rec;
        int r = place_lookup(v, vlen, &rec);
        if (r == -ENOMEM) {
            node_free(n);
            oom(p);
            return NULL;
        }
        if (r < 0) {
            node_free(n);
            perr(p, t->inner_start, "unknown place '%.*s' (an ISO 3166 code or a CLDR name)",
                 (int)(vlen < 64 ? vlen : 64), v);
            return NULL;
        }
        n->set_name = strdup(place_code(rec));
    } else {
        for (size_t i = 0; i < vlen; i++) {
            unsigned char c = (unsigned char)v[i];
            if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
                node_free(n);
                perr(p, t->inner_start + i, "an alias name has letters, digits, '-', '_', '.'");
                return NULL;
            }
        }
        n->set_name = strndup(v, vlen);
        if (n->set_name)
            for (char *q = n->set_name; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q - 'A' + 'a');
    }
    if (!n->set_name) {
        node_free(n);
        oom(p);
        return NULL;
    }
    if (lex(p) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct query_node *parse_or(struct qparser *p, bool title_only);
static struct query_node *parse_unary(struct qparser *p, bool title_only);

static struct query_node *
new_node(struct qparser *p, enum query_op op, size_t column)
{
    struct query_node *n = calloc(1, sizeof(*n));
    if (!n) {
        oom(p);
        return NULL;
    }
    n->op = op;
    n->slop = -1;
    n->column = column;
    return n;
}

static int
add_child(struct qparser *p, struct query_node *n, struct query_node *child)
{
    struct query_node **c = realloc(n->children, (n->n_children + 1) * sizeof(*c));
    if (!c) {
        node_free(child);
        return oom(p);
    }
    n->children = c;
    n->children[n->n_children++] = child;
    return 0;
}

static struct query_node *
parse_primary(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;

    switch (t->kind) {
    case T_WORD:
    case T_PHRASE:
        return parse_leaf(p, title_only);
    case T_SET:
        return parse_set(p, title_only);
    case T_TITLE: {
        size_t after = t->end;
        if (lex(p) < 0)
            return NULL;
        if (t->start != after ||
            (t->kind != T_WORD && t->kind != T_PHRASE && t->kind != T_LPAREN && t->kind != T_SET)) {
            perr(p, after, "expected a term after 'title:'");
            return NULL;
        }
        return parse_primary(p, true);
    }
    case T_LPAREN: {
        size_t open = t->start;
        if (++p->depth > QUERY_MAX_DEPTH) {
            perr(p, open, "too deeply nested (at most %d levels)", QUERY_MAX_DEPTH);
            return NULL;
        }
        if (lex(p) < 0)
            return NULL;
        if (t->kind == T_RPAREN) {
            perr(p, t->start, "expected a term after '('");
            return NULL;
        }
        struct query_node *n = parse_or(p, title_only);
        if (!n)
            return NULL;
        if (t->kind != T_RPAREN) {
            node_free(n);
            perr(p, t->start, "expected ')'");
            return NULL;
        }
        p->depth--;
        if (lex(p) < 0) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    case T_END:
        perr(p, t->start, "expected a term");
        return NULL;
    default:
        perr(p, t->start, "unexpected %s", tok_name(t));
        return NULL;
    }
}

static struct query_node *
parse_unary(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;

    if (t->kind != T_NOT && t->kind != T_MINUS)
        return parse_primary(p, title_only);
    struct qtok op = *t;
    if (++p->depth > QUERY_MAX_DEPTH) {
        perr(p, op.start, "too deeply nested (at most %d levels)", QUERY_MAX_DEPTH);
        return NULL;
    }
    if (lex(p) < 0)
        return NULL;
    if (!starts_term(t->kind)) {
        perr(p, t->start, "expected a term after %s", tok_name(&op));
        return NULL;
    }
    struct query_node *child = parse_unary(p, title_only);
    if (!child)
        return NULL;
    p->depth--;
    struct query_node *n = new_node(p, QUERY_NOT, column_of(p->text, op.start));
    if (!n) {
        node_free(child);
        return NULL;
    }
    if (add_child(p, n, child) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* Wraps first and what follows into an n-ary node while the loop finds operands. */
static struct query_node *
parse_and(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;
    struct query_node *first = parse_unary(p, title_only);
    struct query_node *n = NULL;

    if (!first)
        return NULL;
    for (;;) {
        if (t->kind == T_AND) {
            struct qtok op = *t;
            if (lex(p) < 0)
                goto fail;
            if (!starts_term(t->kind)) {
                perr(p, t->start, "expected a term after %s", tok_name(&op));
                goto fail;
            }
        } else if (!starts_term(t->kind)) {
            break;
        }
        struct query_node *next = parse_unary(p, title_only);
        if (!next)
            goto fail;
        if (!n) {
            n = new_node(p, QUERY_AND, first->column);
            if (!n || add_child(p, n, first) < 0) {
                if (!n)
                    node_free(first);
                first = NULL;
                node_free(next);
                goto fail;
            }
            first = NULL;
        }
        if (add_child(p, n, next) < 0)
            goto fail;
    }
    return n ? n : first;
fail:
    node_free(first);
    node_free(n);
    return NULL;
}

static struct query_node *
parse_or(struct qparser *p, bool title_only)
{
    struct qtok *t = &p->tok;
    struct query_node *first = parse_and(p, title_only);
    struct query_node *n = NULL;

    if (!first)
        return NULL;
    while (t->kind == T_OR) {
        if (lex(p) < 0)
            goto fail;
        if (!starts_term(t->kind)) {
            perr(p, t->start, "expected a term after OR");
            goto fail;
        }
        struct query_node *next = parse_and(p, title_only);
        if (!next)
            goto fail;
        if (!n) {
            n = new_node(p, QUERY_OR, first->column);
            if (!n || add_child(p, n, first) < 0) {
                if (!n)
                    node_free(first);
                first = NULL;
                node_free(next);
                goto fail;
            }
            first = NULL;
        }
        if (add_child(p, n, next) < 0)
            goto fail;
    }
    return n ? n : first;
fail:
    node_free(first);
    node_free(n);
    return NULL;
}

/* Parses a query. */
int
query_parse(const char *name, const char *text, struct query **ret_query, char **reterr_msg)
{
    struct qparser p = {.name = name, .text = text ? text : ""};
    struct query_node *root = NULL;
    size_t bad;

    p.len = strlen(p.text);
    if (p.len > QUERY_MAX_LEN) {
        perr(&p, QUERY_MAX_LEN, "query too long (at most %d bytes)", QUERY_MAX_LEN);
        goto fail;
    }
    if ((bad = utf8_valid_prefix(p.text, p.len)) != p.len) {
        perr(&p, bad, "invalid UTF-8");
        goto fail;
    }
    if (lex(&p) < 0)
        goto fail;
    if (p.tok.kind == T_END) {
        p.err = -EINVAL;
        if (name) {
            if (asprintf(&p.errmsg, "topic \"%s\": empty query", name) < 0)
                p.errmsg = NULL;
        } else {
            p.errmsg = strdup("query: empty query");
        }
        if (!p.errmsg)
            p.err = -ENOMEM;
        goto fail;
    }
    root = parse_or(&p, false);
    if (!root)
        goto fail;
    if (p.tok.kind != T_END) {
        perr(&p, p.tok.start, "unexpected %s", tok_name(&p.tok));
        goto fail;
    }
    struct query *q = calloc(1, sizeof(*q));
    if (!q) {
        oom(&p);
        goto fail;
    }
    q->root = root;
    q->n_leaves = p.n_leaves;
    *ret_query = q;
    return 0;
fail:
    node_free(root);
    if (p.err == -EINVAL && reterr_msg)
        *reterr_msg = p.errmsg;
    else
        free(p.errmsg);
    return p.err ? p.err : -ENOMEM;
}

static int
format_unit(struct buf *b, const struct query_unit *u)
{
    int r = 0;
    for (size_t i = 0; i < u->n_parts && r == 0; i++) {
        if (i > 0)
            r = buf_append_char(b, '-');
        if (r == 0)
            r = buf_append_str(b, u->parts[i]);
    }
    if (r == 0 && u->joined) {
        r = buf_append_char(b, '|');
        if (r == 0)
            r = buf_append_str(b, u->joined);
    }
    if (r == 0 && u->prefix)
        r = buf_append_char(b, '*');
    return r;
}

static int
format_node(struct buf *b, const struct query_node *n)
{
    char tmp[32];
    int r = 0;

    switch (n->op) {
    case QUERY_TERM:
        if (n->title_only)
            r = buf_append_str(b, "title:");
        if (r == 0 && n->set != QUERY_SET_NONE) {
            r = buf_append_str(b, n->set == QUERY_SET_PLACE ? "place:" : "alias:");
            return r ? r : buf_append_str(b, n->set_name);
        }
        return r ? r : format_unit(b, &n->units[0]);
    case QUERY_PHRASE:
        r = buf_append_str(b, n->title_only ? "(title:phrase" : "(phrase");
        if (r == 0 && n->slop >= 0) {
            (void)snprintf(tmp, sizeof(tmp), "~%d", n->slop);
            r = buf_append_str(b, tmp);
        }
        for (size_t i = 0; i < n->n_units && r == 0; i++) {
            r = buf_append_char(b, ' ');
            if (r == 0)
                r = format_unit(b, &n->units[i]);
        }
        return r ? r : buf_append_char(b, ')');
    default:
        r = buf_append_str(b, n->op == QUERY_AND ? "(and" : n->op == QUERY_OR ? "(or" : "(not");
        for (size_t i = 0; i < n->n_children && r == 0; i++) {
            r = buf_append_char(b, ' ');
            if (r == 0)
                r = format_node(b, n->children[i]);
        }
        return r ? r : buf_append_char(b, ')');
    }
}

/* The tree as an S-expression. */
char *
query_format(const struct query *q)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    if (format_node(&b, q->root) < 0) {
        buf_done(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* Releases a query. */
void
query_free(struct query *q)
{
    if (!q)
        return;
    node_free(q->root);
    free(q);
}
