/*
 * date.c — feed dates in, RFC 3339 UTC out.
 *
 * Fast paths first: ISO 8601 / RFC 3339 / W3C-DTF (Atom, dc:date) when the text opens with a
 * four-digit year, and a tolerant token reader for RFC 822 / 2822 and the forms the wild
 * derives from it (RSS pubDate, asctime, RFC 850, Unix date, HTTP dates) otherwise. Only what
 * both refuse goes to the slower readers: two-digit-year ISO 8601 forms, numeric dates whose
 * field order cannot be in doubt, CJK dates (2004년 05월 28일, 2014年04月08日) and the token
 * reader again for year-first text with a month name (2004-július-28).
 *
 * Every reader checks every field against the calendar: an impossible value, an ambiguous
 * order (01/02/2003) or an unknown zone gives -EINVAL, never a nearby wrong instant. The
 * arithmetic is our own (days from civil), so nothing depends on the locale, TZ, the clock
 * or the C library's timegm. Fixed rules where a reader has to choose:
 *   - no zone: UTC, except the Korean forms (년/월/일, 오전/오후), which are Korea's +09:00;
 *   - two-digit years: 00-49 are 20xx, 50-99 are 19xx (RFC 2822 §4.3);
 *   - military letters: Z is UTC, and so are A-I and K-Y: RFC 822 §5 gave them signs that
 *     military use reverses, RFC 1123 §5.2.14 says they carry no information and RFC 2822
 *     §4.3 says to read them as -0000; J is no zone;
 *   - the generic US names AT/ET/CT/MT/PT follow the US daylight-saving rules of the date's
 *     year (from 1967; earlier years, the skipped and the repeated hour are rejected);
 *   - Etc/GMT+5 is five hours WEST of UTC (the POSIX sign), GMT+5 and UTC+5 east;
 *   - IANA names (America/New_York, Europe/Paris...) only where one rule gives their offset:
 *     the US rules above, the EU rules since 1996, or a fixed offset since a given year;
 *   - a reduced date (2003, 2003-12) is its first instant; a lone "-03" is no year.
 */
#include "parse/date.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#define DATE_MAX_INPUT 128           /* longer strings are not dates */
#define DATE_WORD_MAX 40             /* longest folded word looked up (UTF-8 bytes) */
#define DATE_MIN_AT (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define DATE_MAX_AT 253402300799LL   /* 9999-12-31T23:59:59Z */

struct date_fields {
    int year;
    int mon; /* 1..12 */
    int day; /* 1..31 */
    int hour;
    int min;
    int sec;
    int offset;    /* seconds east of UTC */
    int dst;       /* enum date_dst: offset is a standard time with daylight saving */
    int zone_from; /* the zone's rule holds from this year on (IANA names) */
};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A byte of a word: an ASCII letter or any byte of a UTF-8 sequence (other scripts). */
static bool
is_word_byte(char c)
{
    return is_alpha(c) || (unsigned char)c >= 0x80;
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char
to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap(y))
        return 29;
    return dim[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static inline int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
    int64_t era, doe, yoe, y, doy, mp, d, m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = (int)(y + (m <= 2));
    *ret_m = (int)m;
    *ret_d = (int)d;
}

/* Day of the month of the n-th Sunday (n = 1..4) or the last one (n = 0) of y-m. */
static int
sunday_of(int y, int m, int n)
{
    int64_t first = days_from_civil(y, m, 1);
    int wd = (int)(((first + 4) % 7 + 7) % 7); /* 0 = Sunday; 1970-01-01 was a Thursday */
    int d = 1 + (7 - wd) % 7;

    if (n > 0)
        return d + (n - 1) * 7;
    while (d + 7 <= days_in_month(y, m))
        d += 7;
    return d;
}

enum date_dst {
    DST_NONE,
    DST_US, /* US rules: 1967 Uniform Time Act, 1974-75 emergency starts, 1987, 2007 */
    DST_EU, /* EU rules since 1996: last Sunday of March to last Sunday of October, 01:00 UTC */
};

/*
 * Daylight saving: f's offset is a standard time; when the rule had daylight time in force
 * at f's local time, an hour more. The hour skipped in spring and the hour seen twice in
 * autumn have no single instant, nor has a year before the rule: false.
 */
static bool
dst_adjust(struct date_fields *f)
{
    int y = f->year, sm, sd, em, ed;
    int64_t local, start, end, std = f->offset / 60, utc_std, utc_dst;
    bool std_ok, dst_ok;

    if (f->dst == DST_US) {
        if (y < 1967)
            return false;
        if (y >= 2007) {
            sm = 3, sd = sunday_of(y, 3, 2), em = 11, ed = sunday_of(y, 11, 1);
        } else if (y >= 1987) {
            sm = 4, sd = sunday_of(y, 4, 1), em = 10, ed = sunday_of(y, 10, 0);
        } else if (y == 1974) {
            sm = 1, sd = 6, em = 10, ed = sunday_of(y, 10, 0);
        } else if (y == 1975) {
            sm = 2, sd = 23, em = 10, ed = sunday_of(y, 10, 0);
        } else {
            sm = 4, sd = sunday_of(y, 4, 0), em = 10, ed = sunday_of(y, 10, 0);
        }
        /* In UTC minutes: 02:00 standard in spring, 02:00 daylight (01:00 standard) in autumn. */
        start = days_from_civil(y, sm, sd) * 1440 + 120 - std;
        end = days_from_civil(y, em, ed) * 1440 + 60 - std;
    } else {
        if (y < 1996)
            return false;
        start = days_from_civil(y, 3, sunday_of(y, 3, 0)) * 1440 + 60;
        end = days_from_civil(y, 10, sunday_of(y, 10, 0)) * 1440 + 60;
    }
    local = days_from_civil(y, f->mon, f->day) * 1440 + f->hour * 60 + f->min;
    utc_std = local - std;
    utc_dst = local - std - 60;
    std_ok = utc_std < start || utc_std >= end;
    dst_ok = utc_dst >= start && utc_dst < end;
    if (std_ok == dst_ok)
        return false;
    if (dst_ok)
        f->offset += 3600;
    f->dst = DST_NONE;
    return true;
}

/* Checks the fields against the calendar and converts them to Unix seconds. */
static int
fields_to_time(struct date_fields *f, int64_t *ret_at)
{
    int64_t days, at;

    if (f->year < 1 || f->year > 9999)
        return -EINVAL;
    if (f->mon < 1 || f->mon > 12)
        return -EINVAL;
    if (f->day < 1 || f->day > days_in_month(f->year, f->mon))
        return -EINVAL;
    if (f->min < 0 || f->min > 59 || f->sec < 0 || f->sec > 60 || f->hour < 0)
        return -EINVAL;
    /* ISO 8601 allows 24:00:00 for the end of a day; nothing else past 23:59:60. */
    if (f->hour > 24 || (f->hour == 24 && (f->min != 0 || f->sec != 0)))
        return -EINVAL;
    /* A leap second can only end a minute. */
    if (f->sec == 60 && f->min != 59)
        return -EINVAL;
    if (f->year < f->zone_from || (f->dst != DST_NONE && !dst_adjust(f)))
        return -EINVAL;
    if (f->offset < -24 * 3600 || f->offset > 24 * 3600)
        return -EINVAL;
    days = days_from_civil(f->year, f->mon, f->day);
    at = days * 86400 + f->hour * 3600 + f->min * 60 + f->sec - f->offset;
    /* The instant itself must fall in years 0001-9999 (date_format would clamp it). */
    if (at < DATE_MIN_AT || at > DATE_MAX_AT)
        return -EINVAL;
    *ret_at = at;
    return 0;
}

/* Reads exactly n digits at *pp. */
static bool
read_digits(const char **pp, int n, int *ret)
{
    const char *p = *pp;
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *pp = p + n;
    *ret = v;
    return true;
}

/* Reads one or two digits at *pp ("15:4:5" as some feeds write times). */
static bool
read_1or2(const char **pp, int *ret)
{
    const char *p = *pp;

    if (!is_digit(p[0]))
        return false;
    if (is_digit(p[1])) {
        if (is_digit(p[2]))
            return false;
        *ret = (p[0] - '0') * 10 + (p[1] - '0');
        *pp = p + 2;
    } else {
        *ret = p[0] - '0';
        *pp = p + 1;
    }
    return true;
}

/*
 * Reads a numeric zone "+hh", "+hhmm" or "+hh:mm" at *pp (the sign included); with
 * short_hour, "+h" and "+h:mm" too (after a zone name: "GMT+5").
 */
static bool
read_numeric_zone(const char **pp, bool short_hour, int *ret_offset)
{
    const char *p = *pp;
    int sign, hh, mm = 0;

    if (*p != '+' && *p != '-')
        return false;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (short_hour && is_digit(p[0]) && !is_digit(p[1])) {
        hh = p[0] - '0';
        p++;
    } else if (!read_digits(&p, 2, &hh)) {
        return false;
    }
    if (*p == ':') {
        p++;
        if (!read_digits(&p, 2, &mm))
            return false;
    } else if (is_digit(*p)) {
        if (!read_digits(&p, 2, &mm))
            return false;
    }
    if (is_digit(*p) || hh > 23 || mm > 59)
        return false;
    *ret_offset = sign * (hh * 3600 + mm * 60);
    *pp = p;
    return true;
}

static bool
word_eq(const char *w, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (lit[i] == '\0' || to_lower(w[i]) != lit[i])
            return false;
    }
    return lit[i] == '\0';
}

/* True when w is name (lower case) or a prefix of it at least three letters long. */
static bool
word_abbrev(const char *w, size_t n, const char *name)
{
    if (n < 3 || n > strlen(name))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (to_lower(w[i]) != name[i])
            return false;
    }
    return true;
}

/* Letters that fold to a Latin one without decomposing: ł, ø, đ, dotless ı. */
static utf8proc_int32_t
fold_extra(utf8proc_int32_t c)
{
    switch (c) {
    case 0x142:
        return 'l';
    case 0xF8:
        return 'o';
    case 0x111:
        return 'd';
    case 0x131:
        return 'i';
    default:
        return c;
    }
}

/*
 * Folds word w (n bytes, ASCII letters and UTF-8) into out for the name tables: lower case,
 * marks stripped from Latin, Greek and Cyrillic letters (utf8proc: "Mär" is "mar", "Ιούλ"
 * "ιουλ", "май" "маи"); other scripts (Hangul, CJK) are kept as written. Returns the
 * length, 0 when the word is not well-formed UTF-8 or does not fit.
 */
static size_t
fold_word(const char *w, size_t n, char out[DATE_WORD_MAX])
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)w;
    size_t i = 0, len = 0;

    while (i < n) {
        utf8proc_int32_t cp, parts[4];
        utf8proc_ssize_t k, np;
        int boundclass = 0;

        if (u[i] < 0x80) {
            if (len + 1 >= DATE_WORD_MAX)
                return 0;
            out[len++] = to_lower(w[i++]);
            continue;
        }
        k = utf8proc_iterate(u + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0)
            return 0;
        i += (size_t)k;
        if (cp < 0x1100) {
            np = utf8proc_decompose_char(
                cp, parts, 4, UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK,
                &boundclass);
            if (np < 1 || np > 4)
                return 0;
        } else {
            parts[0] = cp;
            np = 1;
        }
        for (utf8proc_ssize_t j = 0; j < np; j++) {
            if (len + 4 >= DATE_WORD_MAX)
                return 0;
            len +=
                (size_t)utf8proc_encode_char(fold_extra(parts[j]), (utf8proc_uint8_t *)out + len);
        }
    }
    out[len] = '\0';
    return len;
}

struct date_name {
    const char *name; /* folded: see fold_word */
    int value;
};

static int
name_find(const struct date_name *t, size_t n, const char *w, size_t wn)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(t[i].name) == wn && memcmp(t[i].name, w, wn) == 0)
            return t[i].value;
    }
    return 0;
}

#define NAME_COUNT(t) (sizeof(t) / sizeof((t)[0]))

/*
 * Month names and abbreviations feeds write in other languages, folded. Each names the
 * same month in every language that has it ("mar" is March in English, Spanish, French,
 * Polish alike); a word that means different months in two languages is left out:
 * "listopad" / "listopada" / "lis" (November in Polish and Czech, October in Croatian), "lip"
 * (Polish lipiec, July; Croatian lipanj, June). Forms unique to one language stay
 * ("listopadu", Czech; "lipca", Polish).
 * German, Dutch, French, Spanish, Catalan, Italian, Portuguese, Romanian, Swedish, Danish,
 * Norwegian, Finnish, Hungarian, Polish, Czech, Turkish, Indonesian, Greek, Russian,
 * Ukrainian, Bulgarian.
 */
static const struct date_name foreign_months[] = {
    {"jan", 1},         {"janv", 1},         {"janvier", 1},       {"januar", 1},
    {"januari", 1},     {"janner", 1},       {"janeiro", 1},       {"enero", 1},
    {"ene", 1},         {"gener", 1},        {"gennaio", 1},       {"gen", 1},
    {"ianuarie", 1},    {"ian", 1},          {"tammikuu", 1},      {"tammikuuta", 1},
    {"tammi", 1},       {"styczen", 1},      {"stycznia", 1},      {"sty", 1},
    {"leden", 1},       {"ledna", 1},        {"ocak", 1},          {"январь", 1},
    {"января", 1},      {"янв", 1},          {"січень", 1},        {"січня", 1},
    {"січ", 1},         {"януари", 1},       {"ιανουαριος", 1},    {"ιανουαριου", 1},
    {"ιαν", 1},         {"feb", 2},          {"febr", 2},          {"fev", 2},
    {"fevr", 2},        {"fevrier", 2},      {"februar", 2},       {"februari", 2},
    {"fevereiro", 2},   {"febrero", 2},      {"febrer", 2},        {"febbraio", 2},
    {"februarie", 2},   {"helmikuu", 2},     {"helmikuuta", 2},    {"helmi", 2},
    {"luty", 2},        {"lutego", 2},       {"lut", 2},           {"unor", 2},
    {"unora", 2},       {"subat", 2},        {"pebruari", 2},      {"февраль", 2},
    {"февраля", 2},     {"фев", 2},          {"февр", 2},          {"лютии", 2},
    {"лютого", 2},      {"лют", 2},          {"февруари", 2},      {"φεβρουαριος", 2},
    {"φεβρουαριου", 2}, {"φεβ", 2},          {"mars", 3},          {"marz", 3},
    {"maerz", 3},       {"mrz", 3},          {"mrt", 3},           {"maart", 3},
    {"marzo", 3},       {"marco", 3},        {"marc", 3},          {"martie", 3},
    {"marcius", 3},     {"marts", 3},        {"maaliskuu", 3},     {"maaliskuuta", 3},
    {"maalis", 3},      {"marzec", 3},       {"marca", 3},         {"brezen", 3},
    {"brezna", 3},      {"mart", 3},         {"maret", 3},         {"март", 3},
    {"марта", 3},       {"мар", 3},          {"березень", 3},      {"березня", 3},
    {"бер", 3},         {"μαρτιος", 3},      {"μαρτιου", 3},       {"μαρ", 3},
    {"avr", 4},         {"avril", 4},        {"abril", 4},         {"abr", 4},
    {"aprile", 4},      {"aprilie", 4},      {"aprilis", 4},       {"huhtikuu", 4},
    {"huhtikuuta", 4},  {"huhti", 4},        {"kwiecien", 4},      {"kwietnia", 4},
    {"kwi", 4},         {"duben", 4},        {"dubna", 4},         {"nisan", 4},
    {"апрель", 4},      {"апреля", 4},       {"апр", 4},           {"квітень", 4},
    {"квітня", 4},      {"кві", 4},          {"квіт", 4},          {"април", 4},
    {"απριλιος", 4},    {"απριλιου", 4},     {"απρ", 4},           {"mai", 5},
    {"mei", 5},         {"mayo", 5},         {"maig", 5},          {"maggio", 5},
    {"mag", 5},         {"maio", 5},         {"maj", 5},           {"majus", 5},
    {"toukokuu", 5},    {"toukokuuta", 5},   {"touko", 5},         {"maja", 5},
    {"kveten", 5},      {"kvetna", 5},       {"mayis", 5},         {"маи", 5},
    {"мая", 5},         {"травень", 5},      {"травня", 5},        {"трав", 5},
    {"μαιος", 5},       {"μαιου", 5},        {"μαι", 5},           {"juni", 6},
    {"juin", 6},        {"junio", 6},        {"juny", 6},          {"giugno", 6},
    {"giu", 6},         {"junho", 6},        {"iunie", 6},         {"iun", 6},
    {"junius", 6},      {"kesakuu", 6},      {"kesakuuta", 6},     {"czerwiec", 6},
    {"czerwca", 6},     {"cze", 6},          {"cerven", 6},        {"cervna", 6},
    {"haziran", 6},     {"июнь", 6},         {"июня", 6},          {"июн", 6},
    {"червень", 6},     {"червня", 6},       {"черв", 6},          {"юни", 6},
    {"ιουνιος", 6},     {"ιουνιου", 6},      {"ιουν", 6},          {"ιον", 6},
    {"juli", 7},        {"juil", 7},         {"juillet", 7},       {"julio", 7},
    {"juliol", 7},      {"luglio", 7},       {"lug", 7},           {"julho", 7},
    {"iulie", 7},       {"iul", 7},          {"julius", 7},        {"heinakuu", 7},
    {"heinakuuta", 7},  {"lipiec", 7},       {"lipca", 7},         {"cervenec", 7},
    {"cervence", 7},    {"temmuz", 7},       {"июль", 7},          {"июля", 7},
    {"июл", 7},         {"липень", 7},       {"липня", 7},         {"лип", 7},
    {"юли", 7},         {"ιουλιος", 7},      {"ιουλιου", 7},       {"ιουλ", 7},
    {"ιολ", 7},         {"aout", 8},         {"augustus", 8},      {"augusti", 8},
    {"agosto", 8},      {"agost", 8},        {"ago", 8},           {"augusztus", 8},
    {"elokuu", 8},      {"elokuuta", 8},     {"sierpien", 8},      {"sierpnia", 8},
    {"sie", 8},         {"srpen", 8},        {"srpna", 8},         {"agustos", 8},
    {"agustus", 8},     {"август", 8},       {"августа", 8},       {"авг", 8},
    {"серпень", 8},     {"серпня", 8},       {"серп", 8},          {"αυγουστος", 8},
    {"αυγουστου", 8},   {"αυγ", 8},          {"septembre", 9},     {"septiembre", 9},
    {"setiembre", 9},   {"setembre", 9},     {"settembre", 9},     {"set", 9},
    {"setembro", 9},    {"septembrie", 9},   {"szeptember", 9},    {"szept", 9},
    {"syyskuu", 9},     {"syyskuuta", 9},    {"wrzesien", 9},      {"wrzesnia", 9},
    {"wrz", 9},         {"zari", 9},         {"eylul", 9},         {"сентябрь", 9},
    {"сентября", 9},    {"сен", 9},          {"сент", 9},          {"вересень", 9},
    {"вересня", 9},     {"верес", 9},        {"септември", 9},     {"σεπτεμβριος", 9},
    {"σεπτεμβριου", 9}, {"σεπ", 9},          {"okt", 10},          {"oktober", 10},
    {"octobre", 10},    {"octubre", 10},     {"ottobre", 10},      {"ott", 10},
    {"outubro", 10},    {"out", 10},         {"octombrie", 10},    {"lokakuu", 10},
    {"lokakuuta", 10},  {"pazdziernik", 10}, {"pazdziernika", 10}, {"paz", 10},
    {"rijen", 10},      {"rijna", 10},       {"ekim", 10},         {"октябрь", 10},
    {"октября", 10},    {"окт", 10},         {"жовтень", 10},      {"жовтня", 10},
    {"жовт", 10},       {"октомври", 10},    {"οκτωβριος", 10},    {"οκτωβριου", 10},
    {"οκτ", 10},        {"novembre", 11},    {"noviembre", 11},    {"novembro", 11},
    {"noiembrie", 11},  {"marraskuu", 11},   {"marraskuuta", 11},  {"listopadu", 11},
    {"kasim", 11},      {"nopember", 11},    {"ноябрь", 11},       {"ноября", 11},
    {"ноя", 11},        {"нояб", 11},        {"листопад", 11},     {"листопада", 11},
    {"ноември", 11},    {"νοεμβριος", 11},   {"νοεμβριου", 11},    {"νοε", 11},
    {"dez", 12},        {"dezember", 12},    {"decembre", 12},     {"diciembre", 12},
    {"dic", 12},        {"dicembre", 12},    {"desembre", 12},     {"dezembro", 12},
    {"decembrie", 12},  {"desember", 12},    {"joulukuu", 12},     {"joulukuuta", 12},
    {"grudzien", 12},   {"grudnia", 12},     {"gru", 12},          {"prosinec", 12},
    {"prosince", 12},   {"aralik", 12},      {"декабрь", 12},      {"декабря", 12},
    {"дек", 12},        {"грудень", 12},     {"грудня", 12},       {"груд", 12},
    {"декември", 12},   {"δεκεμβριος", 12},  {"δεκεμβριου", 12},   {"δεκ", 12},
};

/* Weekday names and abbreviations (their value is not checked: the date itself decides). */
static const struct date_name foreign_weekdays[] = {
    {"montag", 1},      {"dienstag", 1},  {"mittwoch", 1},    {"donnerstag", 1},
    {"freitag", 1},     {"samstag", 1},   {"sonnabend", 1},   {"sonntag", 1},
    {"mo", 1},          {"di", 1},        {"mi", 1},          {"do", 1},
    {"fr", 1},          {"sa", 1},        {"so", 1},          {"maandag", 1},
    {"dinsdag", 1},     {"woensdag", 1},  {"donderdag", 1},   {"vrijdag", 1},
    {"zaterdag", 1},    {"zondag", 1},    {"ma", 1},          {"wo", 1},
    {"vr", 1},          {"za", 1},        {"zo", 1},          {"lundi", 1},
    {"mardi", 1},       {"mercredi", 1},  {"jeudi", 1},       {"vendredi", 1},
    {"samedi", 1},      {"dimanche", 1},  {"lun", 1},         {"mar", 1},
    {"mer", 1},         {"jeu", 1},       {"ven", 1},         {"sam", 1},
    {"dim", 1},         {"lunes", 1},     {"martes", 1},      {"miercoles", 1},
    {"jueves", 1},      {"viernes", 1},   {"sabado", 1},      {"domingo", 1},
    {"mie", 1},         {"jue", 1},       {"vie", 1},         {"sab", 1},
    {"dom", 1},         {"lunedi", 1},    {"martedi", 1},     {"mercoledi", 1},
    {"giovedi", 1},     {"venerdi", 1},   {"sabato", 1},      {"domenica", 1},
    {"gio", 1},         {"segunda", 1},   {"terca", 1},       {"quarta", 1},
    {"quinta", 1},      {"sexta", 1},     {"seg", 1},         {"ter", 1},
    {"qua", 1},         {"qui", 1},       {"sex", 1},         {"dilluns", 1},
    {"dimarts", 1},     {"dimecres", 1},  {"dijous", 1},      {"divendres", 1},
    {"dissabte", 1},    {"diumenge", 1},  {"понедельник", 1}, {"вторник", 1},
    {"среда", 1},       {"четверг", 1},   {"пятница", 1},     {"суббота", 1},
    {"воскресенье", 1}, {"пн", 1},        {"вт", 1},          {"ср", 1},
    {"чт", 1},          {"пт", 1},        {"сб", 1},          {"вс", 1},
    {"пнд", 1},         {"втр", 1},       {"срд", 1},         {"чтв", 1},
    {"птн", 1},         {"сбт", 1},       {"вск", 1},         {"понеділок", 1},
    {"вівторок", 1},    {"середа", 1},    {"четвер", 1},      {"пятниця", 1},
    {"субота", 1},      {"неділя", 1},    {"нд", 1},          {"poniedzialek", 1},
    {"wtorek", 1},      {"sroda", 1},     {"czwartek", 1},    {"piatek", 1},
    {"sobota", 1},      {"niedziela", 1}, {"pon", 1},         {"wt", 1},
    {"wto", 1},         {"sr", 1},        {"sro", 1},         {"czw", 1},
    {"pt", 1},          {"pia", 1},       {"sob", 1},         {"nie", 1},
    {"ndz", 1},         {"pondeli", 1},   {"utery", 1},       {"streda", 1},
    {"ctvrtek", 1},     {"patek", 1},     {"nedele", 1},      {"po", 1},
    {"ut", 1},          {"st", 1},        {"ct", 1},          {"pa", 1},
    {"ne", 1},          {"δευτερα", 1},   {"τριτη", 1},       {"τεταρτη", 1},
    {"πεμπτη", 1},      {"παρασκευη", 1}, {"σαββατο", 1},     {"κυριακη", 1},
    {"δευ", 1},         {"τρι", 1},       {"τετ", 1},         {"πεμ", 1},
    {"παρ", 1},         {"σαβ", 1},       {"κυρ", 1},         {"hetfo", 1},
    {"kedd", 1},        {"szerda", 1},    {"csutortok", 1},   {"pentek", 1},
    {"szombat", 1},     {"vasarnap", 1},  {"maanantai", 1},   {"tiistai", 1},
    {"keskiviikko", 1}, {"torstai", 1},   {"perjantai", 1},   {"lauantai", 1},
    {"sunnuntai", 1},   {"ti", 1},        {"ke", 1},          {"to", 1},
    {"pe", 1},          {"la", 1},        {"su", 1},          {"mandag", 1},
    {"tisdag", 1},      {"tirsdag", 1},   {"onsdag", 1},      {"torsdag", 1},
    {"fredag", 1},      {"lordag", 1},    {"sondag", 1},      {"man", 1},
    {"tis", 1},         {"ons", 1},       {"tor", 1},         {"fre", 1},
    {"lor", 1},         {"son", 1},       {"luni", 1},        {"marti", 1},
    {"miercuri", 1},    {"joi", 1},       {"vineri", 1},      {"sambata", 1},
    {"duminica", 1},    {"pazartesi", 1}, {"sali", 1},        {"carsamba", 1},
    {"persembe", 1},    {"cuma", 1},      {"cumartesi", 1},   {"pazar", 1},
    {"senin", 1},       {"selasa", 1},    {"rabu", 1},        {"kamis", 1},
    {"jumat", 1},       {"sabtu", 1},     {"minggu", 1},
};

/* Words that carry nothing between the fields: "12 de junio de 2012", "28 июля 2004 г."
 * (2: also after the time). */
static const struct date_name fillers[] = {
    {"at", 1},   {"de", 1},    {"del", 1},  {"le", 1}, {"of", 1},  {"um", 1},   {"uhr", 2},
    {"den", 1},  {"feira", 1}, {"alle", 1}, {"as", 1}, {"klo", 1}, {"kl", 1},   {"г", 1},
    {"года", 1}, {"р", 1},     {"року", 1}, {"в", 1},  {"о", 1},   {"godz", 1},
};

/* AM / PM: 1 and 2; 3 and 4 for the Korean words, which also mark the date as Korea's. */
static const struct date_name meridians[] = {
    {"am", 1},   {"pm", 2},   {"오전", 3}, {"오후", 4},
    {"午前", 1}, {"午後", 2}, {"上午", 1}, {"下午", 2},
};

/*
 * Zone names with one meaning, in quarter hours east of UTC. Ambiguous abbreviations (IST,
 * BST, CST in China...) are absent on purpose: a date whose zone we cannot know is
 * rejected, not guessed. CST/CDT are US Central, as RFC 822 defines them. US_DST marks
 * the generic US names, whose offset depends on the date.
 */
#define US_DST 1000
static const struct date_name zones[] = {
    {"gmt", 0},
    {"ut", 0},
    {"utc", 0},
    {"uct", 0},
    {"z", 0},
    {"zulu", 0},
    {"est", -20},
    {"edt", -16},
    {"cst", -24},
    {"cdt", -20},
    {"mst", -28},
    {"mdt", -24},
    {"pst", -32},
    {"pdt", -28},
    {"ast", -16},
    {"adt", -12},
    {"akst", -36},
    {"akdt", -32},
    {"hst", -40},
    {"nst", -14},
    {"ndt", -10},
    {"wet", 0},
    {"west", 4},
    {"cet", 4},
    {"cest", 8},
    {"met", 4},
    {"mest", 8},
    {"mez", 4},
    {"mesz", 8},
    {"eet", 8},
    {"eest", 12},
    {"msk", 12},
    {"msd", 16},
    {"wat", 4},
    {"cat", 8},
    {"sast", 8},
    {"eat", 12},
    {"ict", 28},
    {"wib", 28},
    {"sgt", 32},
    {"hkt", 32},
    {"awst", 32},
    {"jst", 36},
    {"kst", 36},
    {"acst", 38},
    {"acdt", 42},
    {"aest", 40},
    {"aedt", 44},
    {"nzst", 48},
    {"nzdt", 52},
    {"brt", -12},
    {"art", -12},
    {"at", US_DST - 16},
    {"et", US_DST - 20},
    {"ct", US_DST - 24},
    {"mt", US_DST - 28},
    {"pt", US_DST - 32},
};

/*
 * Zone names whose offset above holds only from a given year (folded name, first year): MSK
 * was +04:00 from 2011-03-27 to 2014-10-26, SGT +07:30 before 1982, KST +08:30 in 1954-61.
 * An earlier year is rejected rather than read with today's offset.
 */
static const struct date_name zone_from_years[] = {
    {"msk", 2015},
    {"sgt", 1982},
    {"kst", 1962},
};

static int
word_month(const char *w, size_t n)
{
    static const char *const months[12] = {
        "january", "february", "march",     "april",   "may",      "june",
        "july",    "august",   "september", "october", "november", "december",
    };

    for (int i = 0; i < 12; i++) {
        if (word_abbrev(w, n, months[i]))
            return i + 1;
    }
    return name_find(foreign_months, NAME_COUNT(foreign_months), w, n);
}

static bool
word_weekday(const char *w, size_t n)
{
    static const char *const days[7] = {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    };

    for (int i = 0; i < 7; i++) {
        if (word_abbrev(w, n, days[i]))
            return true;
    }
    return name_find(foreign_weekdays, NAME_COUNT(foreign_weekdays), w, n) != 0;
}

/*
 * A zone name (folded word): its offset and whether US daylight saving applies. Military
 * single letters only with letters_too.
 */
static bool
word_zone(const char *w, size_t n, bool letters_too, int *ret_offset, bool *ret_dst)
{
    char c;

    for (size_t i = 0; i < NAME_COUNT(zones); i++) {
        if (strlen(zones[i].name) == n && memcmp(zones[i].name, w, n) == 0) {
            int q = zones[i].value;

            *ret_dst = q > US_DST / 2;
            *ret_offset = (*ret_dst ? q - US_DST : q) * 900;
            return true;
        }
    }
    if (n != 1 || !letters_too)
        return false;
    /*
     * Military letters other than Z: RFC 822 §5 gave them signs (A = -1 … Y = +12) that are
     * the reverse of military use, so a writer's meaning is unknowable; RFC 1123 §5.2.14 says
     * they carry no information and RFC 2822 §4.3 says to read them as -0000: UTC.
     */
    c = w[0];
    *ret_dst = false;
    if ((c >= 'a' && c <= 'i') || (c >= 'k' && c <= 'y')) {
        *ret_offset = 0;
        return true;
    }
    return false;
}

/*
 * A signed offset glued to zone name (offset name_off, standard time when dst) at *pp:
 * "GMT+5", "UTC-05:00", "PST-0700". After a UTC name it is the offset. After any other name
 * its meaning is unknown ("EST+1": one hour east of UTC, or of EST?) unless it has a two-digit
 * hour and is the name's own offset or an hour more, its daylight time ("CEST+0200", "PST-0700");
 * else false.
 */
static bool
read_glued_offset(const char **pp, int name_off, bool dst, int *ret_offset)
{
    const char *p = *pp;
    int off;

    if (name_off == 0 && !dst)
        return read_numeric_zone(pp, true, ret_offset);
    if (!read_numeric_zone(&p, false, &off) || (off != name_off && off != name_off + 3600))
        return false;
    *ret_offset = off;
    *pp = p;
    return true;
}

/* Counts the digits at p. */
static int
digit_run(const char *p)
{
    int n = 0;

    while (is_digit(p[n]))
        n++;
    return n;
}

/* Skips an RFC 822 comment at *pp ('('), nested, with backslash escapes; false if unclosed. */
static bool
skip_comment(const char **pp)
{
    const char *p = *pp;
    int depth = 0;

    do {
        if (*p == '\0')
            return false;
        if (*p == '\\' && p[1] != '\0') {
            p += 2;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        p++;
    } while (depth > 0);
    *pp = p;
    return true;
}

/* Sets f's date to day number doy (1-based) of year f->year; false when out of range. */
static bool
set_ordinal(struct date_fields *f, int doy)
{
    if (doy < 1 || doy > (is_leap(f->year) ? 366 : 365))
        return false;
    civil_from_days(days_from_civil(f->year, 1, 1) + doy - 1, &f->year, &f->mon, &f->day);
    return true;
}

/* Sets f's date to ISO week date f->year-Wweek-wday; false when there is no such day. */
static bool
set_week(struct date_fields *f, int week, int wday)
{
    int64_t jan4 = days_from_civil(f->year, 1, 4), next_jan4 = days_from_civil(f->year + 1, 1, 4);
    int64_t monday1 = jan4 - ((jan4 % 7 + 7 + 3) % 7);
    int64_t next_monday1 = next_jan4 - ((next_jan4 % 7 + 7 + 3) % 7);
    int64_t day;

    if (week < 1 || week > 53 || wday < 1 || wday > 7)
        return false;
    day = monday1 + (int64_t)(week - 1) * 7 + (wday - 1);
    if (day >= next_monday1)
        return false; /* week 53 of a year that has 52 */
    civil_from_days(day, &f->year, &f->mon, &f->day);
    return true;
}

/* Reads a zone name at *pp (letters); false, *pp unchanged, when it is none we know. */
static bool
read_zone_word(const char **pp, bool letters_too, struct date_fields *f)
{
    const char *p = *pp, *w = p;
    char fw[DATE_WORD_MAX];
    size_t fn;
    int off;
    bool dst;

    while (is_alpha(*p))
        p++;
    fn = fold_word(w, (size_t)(p - w), fw);
    if (fn == 0 || !word_zone(fw, fn, letters_too, &off, &dst))
        return false;
    f->offset = off;
    f->dst = dst ? DST_US : DST_NONE;
    f->zone_from = name_find(zone_from_years, NAME_COUNT(zone_from_years), fw, fn);
    /* "GMT+0100", "UTC-5", "PST-0800": a numeric offset right after the name is the offset. */
    if ((*p == '+' || *p == '-') && is_digit(p[1])) {
        if (!read_glued_offset(&p, off, dst, &f->offset))
            return false;
        f->dst = DST_NONE;
    }
    *pp = p;
    return true;
}

/*
 * ISO 8601 / RFC 3339 / W3C-DTF: "2022-02-09T21:49:00.5+01:00", "20220209T214900Z",
 * "2022-02-09", partial "2022-02" and "2022", ordinal "2022-040" / "2022040", week dates
 * "2022-W06-3" / "2022W063" (Monday when the day is absent). Lenient where the meaning
 * stays plain: a space or " T " for the T, lower-case t and z, a zone name after the time,
 * "+0100" without its colon, "20140722105203", a date with an offset and no time.
 */
static int
parse_iso(const char *p, int64_t *ret_at)
{
    struct date_fields f = {0};
    bool extended, full_date = false, colon;
    int week, wday = 1, doy;

    if (!read_digits(&p, 4, &f.year))
        return -EINVAL;
    f.mon = 1;
    f.day = 1;
    extended = *p == '-';
    if (extended)
        p++;
    if (!extended && (*p == '\0' || is_space(*p))) {
        /* "2022": the year alone. */
    } else if (*p == 'W') {
        p++;
        if (!read_digits(&p, 2, &week))
            return -EINVAL;
        if (extended && *p == '-') {
            p++;
            if (!read_digits(&p, 1, &wday))
                return -EINVAL;
        } else if (!extended && is_digit(*p) && !read_digits(&p, 1, &wday)) {
            return -EINVAL;
        }
        if (is_digit(*p) || !set_week(&f, week, wday))
            return -EINVAL;
        full_date = true;
    } else if (digit_run(p) == 3) {
        if (!read_digits(&p, 3, &doy) || !set_ordinal(&f, doy))
            return -EINVAL;
        full_date = true;
    } else {
        if (!read_digits(&p, 2, &f.mon))
            return -EINVAL;
        if (extended && *p == '-') {
            p++;
            if (!read_digits(&p, 2, &f.day))
                return -EINVAL;
        } else if (extended) {
            /* "2022-02": year and month only; nothing may follow. */
            while (is_space(*p))
                p++;
            if (*p != '\0')
                return -EINVAL;
        } else if (!read_digits(&p, 2, &f.day)) {
            return -EINVAL;
        }
        full_date = true;
    }

    if (full_date) {
        const char *q = p;
        bool spaced;

        while (*q == ' ')
            q++;
        spaced = q != p;
        if (*q == 'T' && is_digit(q[1])) {
            p = q + 1; /* the common case first */
        } else if ((*q == 'T' || *q == 't') && (is_digit(q[1]) || q[1] == ' ')) {
            /* "T", " T", "T " or " T ": the separator, however spaced. */
            q++;
            while (*q == ' ')
                q++;
            p = q;
        } else if (spaced && is_digit(*q)) {
            p = q;
        } else if (!extended && q == p && digit_run(p) >= 4) {
            /* "20140722105203": basic date and time with nothing between. */
        } else if ((*q == '+' || *q == '-') && is_digit(q[1])) {
            /* "2020-07-20+08:00": a date at midnight of a zone. */
            if (!read_numeric_zone(&q, false, &f.offset))
                return -EINVAL;
            p = q;
            goto end;
        } else {
            goto end;
        }
        if (!read_digits(&p, 2, &f.hour))
            return -EINVAL;
        colon = *p == ':';
        if (colon)
            p++;
        if (!read_digits(&p, 2, &f.min))
            return -EINVAL;
        /* Seconds written as the minutes were: "21:49:00" or "214900", not "2149:00". */
        if (colon && *p == ':' && is_digit(p[1]))
            p++;
        else if (colon && is_digit(*p))
            return -EINVAL;
        if (is_digit(*p)) {
            if (!read_digits(&p, 2, &f.sec))
                return -EINVAL;
            if ((*p == '.' || *p == ',') && is_digit(p[1])) {
                p++;
                while (is_digit(*p))
                    p++;
            }
        }
        if (*p == ' ' && (p[1] == '+' || p[1] == '-' || is_alpha(p[1])))
            p++;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            if (!read_numeric_zone(&p, false, &f.offset))
                return -EINVAL;
        } else if (is_alpha(*p)) {
            if (!read_zone_word(&p, false, &f))
                return -EINVAL;
        }
        /* No zone at all: taken as UTC, as feed readers commonly do. */
    }
end:
    while (is_space(*p))
        p++;
    if (*p != '\0')
        return -EINVAL;
    return fields_to_time(&f, ret_at);
}

/* Reads an "Etc/GMT+5" zone at *pp (after "etc"): POSIX signs, so +5 is UTC-5. */
static bool
read_etc_zone(const char **pp, int *ret_offset)
{
    const char *p = *pp, *w;
    size_t n;
    int sign, hh;

    if (*p != '/')
        return false;
    w = ++p;
    while (is_alpha(*p))
        p++;
    n = (size_t)(p - w);
    if (!word_eq(w, n, "gmt") && !word_eq(w, n, "utc") && !word_eq(w, n, "uct") &&
        !word_eq(w, n, "ut") && !word_eq(w, n, "zulu") && !word_eq(w, n, "universal") &&
        !word_eq(w, n, "greenwich"))
        return false;
    *ret_offset = 0;
    if ((*p == '+' || *p == '-') && is_digit(p[1])) {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (!read_1or2(&p, &hh) || hh > (sign < 0 ? 14 : 12))
            return false;
        *ret_offset = -sign * hh * 3600;
    }
    if (is_alpha(*p) || is_digit(*p) || *p == '/')
        return false;
    *pp = p;
    return true;
}

/*
 * IANA zone names feeds write, with a rule that gives their offset over the years from
 * `from` on (a year before it is rejected: the zone's history there is not ours to know).
 */
static const struct {
    const char *name; /* lower case */
    int quarters;     /* standard offset, quarter hours east of UTC */
    int dst;          /* enum date_dst */
    int from;
} tz_names[] = {
    {"america/new_york", -20, DST_US, 1967},    {"us/eastern", -20, DST_US, 1967},
    {"america/chicago", -24, DST_US, 1967},     {"us/central", -24, DST_US, 1967},
    {"america/denver", -28, DST_US, 1967},      {"us/mountain", -28, DST_US, 1967},
    {"america/los_angeles", -32, DST_US, 1967}, {"us/pacific", -32, DST_US, 1967},
    {"america/anchorage", -36, DST_US, 1984},   {"america/phoenix", -28, DST_NONE, 1968},
    {"pacific/honolulu", -40, DST_NONE, 1948},  {"america/halifax", -16, DST_US, 1987},
    {"america/toronto", -20, DST_US, 1987},     {"america/vancouver", -32, DST_US, 1987},
    {"america/sao_paulo", -12, DST_NONE, 2020}, {"europe/london", 0, DST_EU, 1996},
    {"europe/dublin", 0, DST_EU, 1996},         {"europe/lisbon", 0, DST_EU, 1997},
    {"europe/paris", 4, DST_EU, 1996},          {"europe/berlin", 4, DST_EU, 1996},
    {"europe/brussels", 4, DST_EU, 1996},       {"europe/amsterdam", 4, DST_EU, 1996},
    {"europe/luxembourg", 4, DST_EU, 1996},     {"europe/madrid", 4, DST_EU, 1996},
    {"europe/rome", 4, DST_EU, 1996},           {"europe/vienna", 4, DST_EU, 1996},
    {"europe/zurich", 4, DST_EU, 1996},         {"europe/stockholm", 4, DST_EU, 1996},
    {"europe/oslo", 4, DST_EU, 1996},           {"europe/copenhagen", 4, DST_EU, 1996},
    {"europe/prague", 4, DST_EU, 1996},         {"europe/warsaw", 4, DST_EU, 1996},
    {"europe/budapest", 4, DST_EU, 1996},       {"europe/helsinki", 8, DST_EU, 1996},
    {"europe/athens", 8, DST_EU, 1996},         {"europe/bucharest", 8, DST_EU, 1997},
    {"europe/sofia", 8, DST_EU, 1997},          {"europe/moscow", 12, DST_NONE, 2015},
    {"africa/johannesburg", 8, DST_NONE, 1945}, {"africa/lagos", 4, DST_NONE, 1920},
    {"africa/nairobi", 12, DST_NONE, 1960},     {"asia/dubai", 16, DST_NONE, 1921},
    {"asia/kolkata", 22, DST_NONE, 1946},       {"asia/calcutta", 22, DST_NONE, 1946},
    {"asia/bangkok", 28, DST_NONE, 1921},       {"asia/jakarta", 28, DST_NONE, 1965},
    {"asia/shanghai", 32, DST_NONE, 1992},      {"asia/hong_kong", 32, DST_NONE, 1980},
    {"asia/singapore", 32, DST_NONE, 1982},     {"asia/taipei", 32, DST_NONE, 1980},
    {"asia/manila", 32, DST_NONE, 1991},        {"asia/tokyo", 36, DST_NONE, 1952},
    {"asia/seoul", 36, DST_NONE, 1989},
};

/* Reads an IANA name "Area/Location" starting at w (*pp: just past its first word). */
static bool
read_tz_name(const char *w, const char **pp, struct date_fields *f)
{
    const char *p = *pp;
    char name[DATE_WORD_MAX];
    size_t n;

    while (is_alpha(*p) || *p == '/' || *p == '_' || (*p == '-' && is_alpha(p[1])))
        p++;
    n = (size_t)(p - w);
    if (n >= sizeof(name) || is_digit(*p) || (unsigned char)*p >= 0x80)
        return false;
    for (size_t i = 0; i < n; i++)
        name[i] = to_lower(w[i]);
    name[n] = '\0';
    for (size_t i = 0; i < sizeof(tz_names) / sizeof(tz_names[0]); i++) {
        if (strcmp(tz_names[i].name, name) == 0) {
            f->offset = tz_names[i].quarters * 900;
            f->dst = tz_names[i].dst;
            f->zone_from = tz_names[i].from;
            *pp = p;
            return true;
        }
    }
    return false;
}

#define WORDS_HTTP 1       /* parse_words: RFC 9110 dates only */
#define WORDS_NO_TRAILER 2 /* parse_words: no trailing words after the date */

/*
 * RFC 822 / 2822 as the wild writes it, read token by token: an optional weekday (checked
 * for nothing), day, month name (English, or one of the languages above), year (two digits:
 * <50 is 20xx), time with optional seconds, AM/PM, and a zone (name, military letter,
 * numeric, Etc/GMT±n). asctime, RFC 850, Unix date, "February 9, 2022 9:49 pm",
 * "28. Juli 2004", "13 января 2015 г. в 13:34" and "2004-július-28T18:12:00+02:00" fall out of
 * the same rules. Once day, month, year, time and zone are all read, trailing words are
 * ignored ("... GMT (Coordinated Universal Time)", "... +0000 and more"); before that an
 * unknown word rejects the text (WORDS_NO_TRAILER: always). What the fuzzer taught: at most
 * one weekday and never after the time, no word run into a number ("Jan04") but AM/PM, the
 * year after the month or before everything (after the time: four digits), no time after
 * the zone, an unsigned offset only "00" or "0000". WORDS_HTTP: the day
 * before the year, '-' the only separator, none of the extensions above (as date_parse_http
 * always read: zone names and numeric offsets are still taken, RFC 9110 §5.6.7 asks for
 * tolerance).
 */
static int
parse_words(const char *p, int flags, int64_t *ret_at)
{
    bool http = flags & WORDS_HTTP;
    struct date_fields f = {0};
    const char *start = p;
    bool have_day = false, have_year = false, have_time = false, have_zone = false;
    bool korean = false, mon_maybe_wday = false, zone_named = false, have_weekday = false;
    int ampm = 0; /* 1 = AM, 2 = PM */
    int year_digits = 0;

    /*
     * A leading word followed by a comma is the weekday slot ("Wed,", "Mittwoch,", "do,",
     * "ven.,", "Thu ,"): ignored like an English weekday, whatever the language.
     */
    {
        const char *q = p;

        while (is_word_byte(*q))
            q++;
        if (q - p >= 2 && q - p <= 24 && *q == '.')
            q++;
        while (*q == ' ' || *q == '\t')
            q++;
        if (q - p >= 2 && *q == ',' && is_word_byte(*p)) {
            p = q + 1;
            have_weekday = true;
        }
    }
    while (*p) {
        if (is_space(*p) || *p == ',') {
            p++;
        } else if (*p == '(') {
            /* An RFC 822 comment such as "(UTC)" or "(th)". */
            if (!skip_comment(&p))
                return -EINVAL;
        } else if (is_word_byte(*p)) {
            const char *w = p;
            char fw[DATE_WORD_MAX];
            size_t n, fn;
            int m, off;
            bool dst, glued;

            while (is_word_byte(*p))
                p++;
            n = (size_t)(p - w);
            /* "a.m." / "p.m." */
            if (n == 1 && (to_lower(*w) == 'a' || to_lower(*w) == 'p') && p[0] == '.' &&
                to_lower(p[1]) == 'm' && p[2] == '.') {
                if (ampm || !have_time)
                    return -EINVAL;
                ampm = to_lower(*w) == 'a' ? 1 : 2;
                p += 3;
                continue;
            }
            /* The ISO "T" between a date and its time: "2004-július-28T18:12". */
            if (n == 1 && to_lower(*w) == 't' && !have_time && w > start && is_digit(w[-1]) &&
                is_digit(*p))
                continue;
            if (word_eq(w, n, "etc")) {
                if (!have_time || have_zone || http || !read_etc_zone(&p, &f.offset))
                    return -EINVAL;
                have_zone = true;
                continue;
            }
            if (*p == '/' && is_alpha(p[1])) {
                /* "America/Los_Angeles" */
                if (!have_time || have_zone || http || !read_tz_name(w, &p, &f))
                    return -EINVAL;
                have_zone = true;
                continue;
            }
            glued = is_digit(*p);
            if (*p == '.')
                p++;
            if ((fn = fold_word(w, n, fw)) == 0)
                return -EINVAL;
            /* A word run into a number ("Jan04", "pe9:48") is no field we know of. */
            if (glued && !name_find(meridians, NAME_COUNT(meridians), fw, fn))
                return -EINVAL;
            if (!have_zone && (have_time || (have_day && have_year && f.mon)) &&
                word_zone(fw, fn, have_time && w > start && is_space(w[-1]), &off, &dst) &&
                (have_time || (off == 0 && !dst))) {
                /* A zone; without a time only a UTC name ("26 Sep 2022 GMT"). */
                have_zone = zone_named = true;
                f.offset = off;
                f.dst = dst ? DST_US : DST_NONE;
                f.zone_from = name_find(zone_from_years, NAME_COUNT(zone_from_years), fw, fn);
                if ((*p == '+' || *p == '-') && is_digit(p[1])) {
                    /* "GMT+0100", "UTC-05", "PST-0700": the number is the offset. */
                    if (!read_glued_offset(&p, off, dst, &f.offset))
                        return -EINVAL;
                    f.dst = DST_NONE;
                }
            } else if (have_zone && !zone_named && !http && word_zone(fw, fn, false, &off, &dst)) {
                /* "+0000 UTC", "-0700 MST": the numeric offset before the name stands. */
            } else if ((m = word_month(fw, fn)) != 0) {
                if (f.mon) {
                    /* "mar 16 nov": the first word was Tuesday (martes, mardi), not March. */
                    if (!mon_maybe_wday || have_year)
                        return -EINVAL;
                    mon_maybe_wday = false;
                }
                if (!f.mon)
                    mon_maybe_wday = !have_day && !have_year && !have_time && word_weekday(fw, fn);
                f.mon = m;
            } else if (word_weekday(fw, fn) && !have_time && !have_weekday &&
                       (w == start || !is_digit(w[-1]))) {
                /* A wrong weekday is ignored: the date itself decides. */
                have_weekday = true;
            } else if ((m = name_find(meridians, NAME_COUNT(meridians), fw, fn)) != 0) {
                /* "9:49 pm", and the Korean "오후 11:23:17" before the time. */
                if (ampm || (m < 3 && !have_time))
                    return -EINVAL;
                korean |= m >= 3;
                ampm = m >= 3 ? m - 2 : m;
            } else if ((m = name_find(fillers, NAME_COUNT(fillers), fw, fn)) != 0 &&
                       (!have_time || m == 2)) {
                /* "12 de junio de 2012", "13 января 2015 г. в 13:34", "19:48 Uhr" */
            } else if (have_day && have_year && f.mon && have_time && have_zone &&
                       !(flags & WORDS_NO_TRAILER) && (is_space(w[-1]) || w[-1] == ')')) {
                break; /* trailing words after a whole date */
            } else {
                return -EINVAL;
            }
        } else if ((*p == '+' || *p == '-') && is_digit(p[1]) && (!have_zone || zone_named) &&
                   (have_time || (have_day && have_year && f.mon))) {
            /* A numeric offset; after a zone name ("MST -0700") it is the one that stands. */
            if (!read_numeric_zone(&p, false, &f.offset))
                return -EINVAL;
            f.dst = DST_NONE;
            zone_named = false;
            have_zone = true;
        } else if (*p == '-' || *p == '/' || *p == '.') {
            /* RFC 850 "09-Feb-22", "06/May/2008", "28. Juli" */
            if ((http && *p != '-') || ((*p == '-' || *p == '/') && p[1] == '\0'))
                return -EINVAL;
            p++;
        } else if (*p == '\'' && is_digit(p[1]) && is_digit(p[2]) && !is_digit(p[3]) &&
                   !have_year && f.mon && !http) {
            /* "Oct 7, '70" */
            f.year = (p[1] - '0') * 10 + (p[2] - '0');
            year_digits = 2;
            have_year = true;
            p += 3;
        } else if (is_digit(*p)) {
            const char *d = p;
            int v = 0, n;

            while (is_digit(*p) && p - d < 5) {
                v = v * 10 + (*p - '0');
                p++;
            }
            n = (int)(p - d);
            if (is_digit(*p))
                return -EINVAL;
            if (*p == ':' && n == 4 && !have_year && !have_time && have_day && !http && d > start &&
                d[-1] == '/' && is_digit(p[1]) && is_digit(p[2]) && p[3] == ':') {
                /* "06/May/2008:08:11:17" (a server log's year glued to the time) */
                f.year = v;
                year_digits = 4;
                have_year = true;
                p++;
            } else if (*p == ':') {
                if (have_time || have_zone || n > 2)
                    return -EINVAL;
                f.hour = v;
                p++;
                if (!read_1or2(&p, &f.min))
                    return -EINVAL;
                if (*p == ':') {
                    p++;
                    if (!read_1or2(&p, &f.sec))
                        return -EINVAL;
                    if ((*p == '.' || *p == ',') && is_digit(p[1])) {
                        p++;
                        while (is_digit(*p))
                            p++;
                    }
                }
                if (is_digit(*p) || *p == ':')
                    return -EINVAL;
                have_time = true;
            } else if (n <= 2 && !have_day) {
                /* The day: after the time only while the year is still to come (asctime). */
                if (have_time && have_year)
                    return -EINVAL;
                /* An ordinal suffix: "17th", "1st", "2nd", "23rd", "1er". */
                if ((word_eq(p, 2, "st") || word_eq(p, 2, "nd") || word_eq(p, 2, "rd") ||
                     word_eq(p, 2, "th") || word_eq(p, 2, "er")) &&
                    !is_word_byte(p[2]) && !http)
                    p += 2;
                f.day = v;
                have_day = true;
            } else if ((n == 2 || n == 4) && !have_year) {
                /* The year comes after the month, or first of all (2006 January 02). */
                if ((http && !have_day) || (!f.mon && (n != 4 || have_day)) ||
                    (have_time && n != 4))
                    return -EINVAL;
                f.year = v;
                year_digits = n;
                have_year = true;
            } else if ((n == 2 || n == 4) && have_time && have_day && !have_zone && !http &&
                       is_space(d[-1])) {
                /*
                 * An offset without its sign: only "00" and "0000" ("15:04:05 00"). Any other
                 * number has no known sign ("19:48:21 0500") or is no offset at all (a year
                 * written twice: "04:00:00 2003"): rejected, not guessed.
                 */
                if (v != 0)
                    return -EINVAL;
                f.offset = 0;
                have_zone = true;
            } else {
                return -EINVAL;
            }
        } else {
            return -EINVAL;
        }
    }
    if (!have_day || !have_year || !f.mon)
        return -EINVAL;
    if (year_digits == 2)
        f.year += f.year < 50 ? 2000 : 1900;
    if (ampm) {
        if (!have_time || f.hour < 1 || f.hour > 12)
            return -EINVAL;
        if (f.hour == 12)
            f.hour = 0;
        if (ampm == 2)
            f.hour += 12;
    }
    if (f.hour > 23 && have_time)
        return -EINVAL;
    if (!have_zone && korean)
        f.offset = 9 * 3600;
    return fields_to_time(&f, ret_at);
}

/* The century of a two-digit year: 00-49 are 20xx, 50-99 19xx (RFC 2822 §4.3). */
static int
century_of(int yy)
{
    return yy < 50 ? 20 : 19;
}

/*
 * ISO 8601's forms with the century left out (ISO 8601:1988 and :2000 §4.1.2, reduced
 * precision): "03-12-31", "031231", "03335", "03-335", "-0312", "-03-12". Rewritten
 * with their century and read by parse_iso.
 */
static int
parse_iso2(const char *s, int64_t *ret_at)
{
    char iso[DATE_MAX_INPUT + 8];
    int yy;

    if (s[0] == '-' && is_digit(s[1]) && is_digit(s[2])) {
        const char *p = s + 3;
        int mm = 0;

        yy = (s[1] - '0') * 10 + (s[2] - '0');
        if (*p == '-')
            p++;
        /* "-YY" alone, a year of the implied century, is too like a negative number. */
        if (!read_digits(&p, 2, &mm))
            return -EINVAL;
        while (is_space(*p))
            p++;
        if (*p != '\0')
            return -EINVAL;
        (void)snprintf(iso, sizeof(iso), "%02d%02d-%02d", century_of(yy), yy, mm);
        return parse_iso(iso, ret_at);
    }
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return -EINVAL;
    yy = (s[0] - '0') * 10 + (s[1] - '0');
    /* "YY-MM-DD", "YY-DDD", "YY-Www": never "YY-MM", which reads as a day and a month. */
    if (s[2] == '-' &&
        !(digit_run(s + 3) == 3 || (digit_run(s + 3) == 2 && s[5] == '-') || s[3] == 'W'))
        return -EINVAL;
    if (s[2] != '-' && s[2] != 'W' && digit_run(s) != 5 && digit_run(s) != 6)
        return -EINVAL;
    /*
     * "200312" is YYMMDD (2020-03-12) or YYYYMM (December 2003): six digits whose first four
     * are a plausible year (1900-2099) and last two a month have two readings. "031231" has one.
     */
    if (digit_run(s) == 6 && (yy == 19 || yy == 20) && (s[4] - '0') * 10 + (s[5] - '0') >= 1 &&
        (s[4] - '0') * 10 + (s[5] - '0') <= 12)
        return -EINVAL;
    if (snprintf(iso, sizeof(iso), "%02d%s", century_of(yy), s) >= (int)sizeof(iso))
        return -EINVAL;
    return parse_iso(iso, ret_at);
}

/*
 * Numeric dates whose field order is not in doubt, rewritten as "9 Feb 2022 ..." for
 * parse_words: year first ("2014/4/2 04:08 PM", "2018.09.30", "2014-4-2T04:08:09Z"), or
 * a four-digit year last where only one order is a date ("13/03/2014", "03/31/2014",
 * "06-17-2014"). "01/02/2003", "01.02.03" and the like are rejected: either order could
 * be meant. An optional weekday may come first ("Fri, 26/06/2020").
 */
static int
parse_numeric(const char *s, int64_t *ret_at)
{
    static const char *const mon_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[DATE_MAX_INPUT + 32];
    const char *p = s;
    int v[3], len[3], y, m, d;
    char sep = 0;

    if (is_word_byte(*p)) {
        const char *w = p;
        char fw[DATE_WORD_MAX];
        size_t fn;

        while (is_word_byte(*p))
            p++;
        fn = fold_word(w, (size_t)(p - w), fw);
        if (fn == 0 || !word_weekday(fw, fn))
            return -EINVAL;
        if (*p == '.')
            p++;
        while (is_space(*p) || *p == ',')
            p++;
    }
    for (int i = 0; i < 3; i++) {
        len[i] = digit_run(p);
        if (len[i] < 1 || len[i] > 4 || !read_digits(&p, len[i], &v[i]))
            return -EINVAL;
        if (i < 2) {
            if (i == 0)
                sep = *p;
            if ((sep != '-' && sep != '/' && sep != '.') || *p != sep)
                return -EINVAL;
            p++;
        }
    }
    if (len[0] == 4 && len[1] <= 2 && len[2] <= 2) {
        y = v[0], m = v[1], d = v[2];
    } else if (len[2] == 4 && len[0] <= 2 && len[1] <= 2) {
        y = v[2];
        if (v[0] == v[1] || (v[0] > 12 && v[1] <= 12))
            d = v[0], m = v[1];
        else if (v[1] > 12 && v[0] <= 12)
            m = v[0], d = v[1];
        else
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return -EINVAL;
    /* "2014-4-2T04:08:09Z": the T becomes a space. */
    if ((*p == 'T' || *p == 't') && is_digit(p[1]))
        p++;
    else if (*p != '\0' && !is_space(*p) && *p != '+' && *p != '-' && *p != ',')
        return -EINVAL;
    if (snprintf(buf, sizeof(buf), "%d %s %04d %s", d, mon_names[m - 1], y, p) >= (int)sizeof(buf))
        return -EINVAL;
    return parse_words(buf, WORDS_NO_TRAILER, ret_at);
}

/* The CJK markers after a number: year, month, day, hour, minute, second. */
static const struct {
    const char *mark;
    int field; /* 0 year ... 5 second */
    bool korean;
} cjk_marks[] = {
    {"年", 0, false}, {"月", 1, false}, {"日", 2, false}, {"時", 3, false}, {"时", 3, false},
    {"分", 4, false}, {"秒", 5, false}, {"년", 0, true},  {"월", 1, true},  {"일", 2, true},
    {"시", 3, true},  {"분", 4, true},  {"초", 5, true},
};

/* Weekdays written after a CJK date: "2004년 05월 28일 금요일", "2016年3月20日 星期日". */
static const struct date_name cjk_weekdays[] = {
    {"월요일", 1}, {"화요일", 1}, {"수요일", 1}, {"목요일", 1}, {"금요일", 1}, {"토요일", 1},
    {"일요일", 1}, {"月曜日", 1}, {"火曜日", 1}, {"水曜日", 1}, {"木曜日", 1}, {"金曜日", 1},
    {"土曜日", 1}, {"日曜日", 1}, {"星期一", 1}, {"星期二", 1}, {"星期三", 1}, {"星期四", 1},
    {"星期五", 1}, {"星期六", 1}, {"星期日", 1}, {"星期天", 1},
};

/*
 * Chinese, Japanese and Korean numeric dates: "2014年04月08日 19:17:22",
 * "2016年3月20日(日) 21時40分", "2004년 05월 28일 01:31:15", with AM/PM words (오전/오후,
 * 午前/午後, 上午/下午) and an optional zone. The Korean forms without a zone are Korea's
 * (+09:00, no daylight saving since 1988); the others UTC.
 */
static int
parse_cjk(const char *p, int64_t *ret_at)
{
    struct date_fields f = {0};
    int have = 0; /* bit per field */
    bool korean = false, have_zone = false;
    int ampm = 0;

    while (*p) {
        if (is_space(*p) || *p == ',') {
            p++;
        } else if (*p == '(') {
            if (!skip_comment(&p)) /* a weekday: "(日)", "(월)" */
                return -EINVAL;
        } else if (is_digit(*p)) {
            int v = 0, n = 0, field = -1;

            while (is_digit(*p) && n < 5) {
                v = v * 10 + (*p - '0');
                p++, n++;
            }
            if (is_digit(*p))
                return -EINVAL;
            if (*p == ':') {
                if (have & (7 << 3) || n > 2)
                    return -EINVAL;
                f.hour = v;
                p++;
                if (!read_1or2(&p, &f.min))
                    return -EINVAL;
                if (*p == ':') {
                    p++;
                    if (!read_1or2(&p, &f.sec))
                        return -EINVAL;
                }
                have |= 7 << 3;
                continue;
            }
            for (size_t i = 0; i < sizeof(cjk_marks) / sizeof(cjk_marks[0]); i++) {
                size_t ml = strlen(cjk_marks[i].mark);

                if (strncmp(p, cjk_marks[i].mark, ml) == 0) {
                    field = cjk_marks[i].field;
                    korean |= cjk_marks[i].korean;
                    p += ml;
                    break;
                }
            }
            if (field < 0 || have & (1 << field) || (field == 0 && n != 4) || (field > 0 && n > 2))
                return -EINVAL;
            have |= 1 << field;
            switch (field) {
            case 0:
                f.year = v;
                break;
            case 1:
                f.mon = v;
                break;
            case 2:
                f.day = v;
                break;
            case 3:
                f.hour = v;
                break;
            case 4:
                f.min = v;
                break;
            default:
                f.sec = v;
                break;
            }
        } else if ((*p == '+' || *p == '-') && is_digit(p[1]) && (have & (1 << 3)) && !have_zone) {
            if (!read_numeric_zone(&p, false, &f.offset))
                return -EINVAL;
            have_zone = true;
        } else if (is_alpha(*p) && (have & (1 << 3)) && !have_zone) {
            if (!read_zone_word(&p, false, &f))
                return -EINVAL;
            have_zone = true;
        } else if (is_word_byte(*p)) {
            const char *w = p;
            char fw[DATE_WORD_MAX];
            size_t fn;
            int m;

            while ((unsigned char)*p >= 0x80)
                p++;
            fn = fold_word(w, (size_t)(p - w), fw);
            if (fn && name_find(cjk_weekdays, NAME_COUNT(cjk_weekdays), fw, fn))
                continue;
            m = fn ? name_find(meridians, NAME_COUNT(meridians), fw, fn) : 0;
            if (m == 0 || ampm)
                return -EINVAL;
            korean |= m >= 3;
            ampm = m >= 3 ? m - 2 : m;
        } else {
            return -EINVAL;
        }
    }
    if ((have & 7) != 7 || (ampm && !(have & (1 << 3))))
        return -EINVAL;
    if (ampm) {
        if (f.hour < 1 || f.hour > 12)
            return -EINVAL;
        if (f.hour == 12)
            f.hour = 0;
        if (ampm == 2)
            f.hour += 12;
    }
    if (f.hour > 23)
        return -EINVAL;
    if (!have_zone && korean)
        f.offset = 9 * 3600;
    return fields_to_time(&f, ret_at);
}

/*
 * Copies s without its leading and trailing white space into buf (DATE_MAX_INPUT + 1 bytes);
 * false when nothing is left or the rest is longer than DATE_MAX_INPUT. Trimming first, so
 * that padding around a short date does not count against the limit.
 */
static bool
trim_copy(const char *s, char buf[DATE_MAX_INPUT + 1])
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0 || n > DATE_MAX_INPUT)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

static bool
is_year4(const char *s)
{
    return is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]);
}

/* Parses a date in any supported form into Unix seconds; -EINVAL when it cannot be read. */
int
date_parse(const char *s, int64_t *ret_at)
{
    char buf[DATE_MAX_INPUT + 1];
    int64_t at;
    int r;
    bool words_tried = false;

    if (!s || !trim_copy(s, buf))
        return -EINVAL;
    s = buf;
    /* The fast paths: RFC 3339 / W3C-DTF and RFC 822 as feeds mostly write them. */
    if (is_year4(s) &&
        (s[4] == '-' || s[4] == 'W' || s[4] == '\0' || is_space(s[4]) || is_digit(s[4]))) {
        r = parse_iso(s, &at);
    } else if (is_year4(s) || s[0] == '-') {
        r = -EINVAL;
    } else {
        r = parse_words(s, 0, &at);
        words_tried = true;
    }
    if (r < 0) {
        if (strstr(s, "年") || strstr(s, "년"))
            r = parse_cjk(s, &at);
        else if ((r = parse_iso2(s, &at)) < 0 && s[0] != '-' && (r = parse_numeric(s, &at)) < 0 &&
                 !words_tried)
            r = parse_words(s, 0, &at);
    }
    if (r < 0)
        return r;
    *ret_at = at;
    return 0;
}

/* Parses an HTTP date (RFC 9110 IMF-fixdate and the obsolete forms); -EINVAL otherwise. */
int
date_parse_http(const char *s, int64_t *ret_at)
{
    char buf[DATE_MAX_INPUT + 1];
    int64_t at, check;
    int r;

    /*
     * IMF-fixdate, RFC 850 and asctime are all forms of the token reader in its HTTP mode
     * (the day before the year, no trailing words); RFC 9110 §5.6.7 asks recipients to be
     * tolerant, so spacing, case, zones and two-digit years are read as in date_parse (a
     * pure function has no clock to compare a two-digit year with).
     */
    if (!s || !trim_copy(s, buf))
        return -EINVAL;
    s = buf;
    r = parse_words(s, WORDS_HTTP | WORDS_NO_TRAILER, &at);
    if (r < 0)
        return r;
    /* An HTTP date is also a feed date at the same instant (fuzz_date checks it). */
    if (date_parse(s, &check) < 0 || check != at)
        return -EINVAL;
    *ret_at = at;
    return 0;
}

/* Writes at as RFC 3339 UTC ("2022-02-09T21:49:00Z") into buf (at least DATE_RFC3339_LEN). */
void
date_format(int64_t at, char buf[DATE_RFC3339_LEN])
{
    /* Clamp to years 0000..9999 so that the text always has its fixed width. */
    static const int64_t min_at = -62167219200LL; /* 0000-01-01T00:00:00Z */
    static const int64_t max_at = 253402300799LL; /* 9999-12-31T23:59:59Z */
    int64_t days, secs;
    int y, m, d;

    if (at < min_at)
        at = min_at;
    if (at > max_at)
        at = max_at;
    days = at / 86400;
    secs = at % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    /* Fixed-width digits written by hand: every field is in range after the clamp above. */
    const int fields[6] = {y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60)};
    static const char seps[6] = {'-', '-', 'T', ':', ':', 'Z'};
    size_t o = 0;
    for (int i = 0; i < 6; i++) {
        int v = fields[i];
        if (i == 0) {
            buf[o++] = (char)('0' + v / 1000 % 10);
            buf[o++] = (char)('0' + v / 100 % 10);
        }
        buf[o++] = (char)('0' + v / 10 % 10);
        buf[o++] = (char)('0' + v % 10);
        buf[o++] = seps[i];
    }
    buf[o] = '\0';
}
