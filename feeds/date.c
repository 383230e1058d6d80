/*
 * date.c — feed dates in, RFC 3339 UTC out.
 *
 * Two readers: one for ISO 8601 / RFC 3339 / W3C-DTF (Atom, dc:date) and a tolerant
 * token-based one for RFC 822 / 2822 and the forms the wild derives from it (RSS pubDate,
 * asctime, RFC 850, HTTP dates). Both check every field against the calendar: an
 * impossible value gives -EINVAL, never a nearby wrong instant. The arithmetic is our own
 * (days from civil), so nothing depends on the locale, TZ or the C library's timegm.
 */
#include "date.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DATE_MAX_INPUT 128 /* longer strings are not dates */

struct date_fields {
    int year;
    int mon; /* 1..12 */
    int day; /* 1..31 */
    int hour;
    int min;
    int sec;
    int offset; /* seconds east of UTC */
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
static int64_t
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

/* Checks the fields against the calendar and converts them to Unix seconds. */
static int
fields_to_time(const struct date_fields *f, int64_t *ret_at)
{
    int64_t days;

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
    if (f->offset < -24 * 3600 || f->offset > 24 * 3600)
        return -EINVAL;
    days = days_from_civil(f->year, f->mon, f->day);
    *ret_at = days * 86400 + f->hour * 3600 + f->min * 60 + f->sec - f->offset;
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

/* Reads a numeric zone "+hh", "+hhmm" or "+hh:mm" at *pp (the sign included). */
static bool
read_numeric_zone(const char **pp, int *ret_offset)
{
    const char *p = *pp;
    int sign, hh, mm = 0;

    if (*p != '+' && *p != '-')
        return false;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!read_digits(&p, 2, &hh))
        return false;
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

static int
word_month(const char *w, size_t n)
{
    static const char *const months[12] = {
        "january", "february", "march",     "april",   "may",      "june",
        "july",    "august",   "september", "october", "november", "december",
    };
    /*
     * Abbreviations feeds use in German, Dutch, French, Spanish, Portuguese and Italian
     * (ASCII spellings). Each names the same month in every language that has it, so
     * none is a guess: "mar" is March in English, Spanish and French alike.
     */
    static const struct {
        const char *name;
        int mon;
    } foreign[] = {
        {"jan", 1},  {"janv", 1}, {"ene", 1},  {"gen", 1},  {"fev", 2},  {"fevr", 2},
        {"feb", 2},  {"mrz", 3},  {"mrt", 3},  {"mars", 3}, {"abr", 4},  {"avr", 4},
        {"mai", 5},  {"mei", 5},  {"mag", 5},  {"juin", 6}, {"giu", 6},  {"juil", 7},
        {"lug", 7},  {"ago", 8},  {"aout", 8}, {"set", 9},  {"sept", 9}, {"okt", 10},
        {"out", 10}, {"ott", 10}, {"dez", 12}, {"dic", 12},
    };

    for (int i = 0; i < 12; i++) {
        if (word_abbrev(w, n, months[i]))
            return i + 1;
    }
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        if (word_eq(w, n, foreign[i].name))
            return foreign[i].mon;
    }
    return 0;
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
    return false;
}

/*
 * Zone names with one meaning. Ambiguous abbreviations (IST, BST, CST in China...) are
 * absent on purpose: a date whose zone we cannot know is rejected, not guessed. CST/CDT are
 * taken as US Central, as RFC 822 defines them.
 */
static bool
word_zone(const char *w, size_t n, int *ret_offset)
{
    static const struct {
        const char *name;
        int hours_x4; /* quarter hours east of UTC */
    } zones[] = {
        {"gmt", 0},   {"ut", 0},    {"utc", 0},    {"z", 0},      {"est", -20}, {"edt", -16},
        {"cst", -24}, {"cdt", -20}, {"mst", -28},  {"mdt", -24},  {"pst", -32}, {"pdt", -28},
        {"ast", -16}, {"adt", -12}, {"akst", -36}, {"akdt", -32}, {"hst", -40}, {"wet", 0},
        {"west", 4},  {"cet", 4},   {"cest", 8},   {"met", 4},    {"mest", 8},  {"eet", 8},
        {"eest", 12}, {"msk", 12},  {"jst", 36},   {"kst", 36},   {"aest", 40}, {"aedt", 44},
        {"nzst", 48}, {"nzdt", 52},
    };
    char c;

    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (word_eq(w, n, zones[i].name)) {
            *ret_offset = zones[i].hours_x4 * 900;
            return true;
        }
    }
    /*
     * Military single-letter zones. RFC 822 printed their signs reversed and RFC 2822
     * §4.3 gave up on them; we use their actual military meaning (A = UTC+1 … M = UTC+12,
     * N = UTC-1 … Y = UTC-12, Z = UTC), which is what the rare feeds using them mean.
     */
    if (n == 1) {
        c = to_lower(w[0]);
        if (c >= 'a' && c <= 'i') {
            *ret_offset = (c - 'a' + 1) * 3600;
            return true;
        }
        if (c >= 'k' && c <= 'm') {
            *ret_offset = (c - 'k' + 10) * 3600;
            return true;
        }
        if (c >= 'n' && c <= 'y') {
            *ret_offset = -(c - 'n' + 1) * 3600;
            return true;
        }
    }
    return false;
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

/*
 * ISO 8601 / RFC 3339 / W3C-DTF: "2022-02-09T21:49:00.5+01:00", "20220209T214900Z",
 * "2022-02-09", partial "2022-02" and "2022", ordinal "2022-040" / "2022040", week dates
 * "2022-W06-3" / "2022W063" (Monday when the day is absent).
 */
static int
parse_iso(const char *p, int64_t *ret_at)
{
    struct date_fields f = {0};
    bool extended;
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
    } else if (digit_run(p) == 3) {
        if (!read_digits(&p, 3, &doy) || !set_ordinal(&f, doy))
            return -EINVAL;
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
    }

    if (*p == 'T' || *p == 't' || (*p == ' ' && is_digit(p[1]))) {
        p++;
        if (!read_digits(&p, 2, &f.hour))
            return -EINVAL;
        if (*p == ':')
            p++;
        if (!read_digits(&p, 2, &f.min))
            return -EINVAL;
        if (*p == ':' && is_digit(p[1]))
            p++;
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
            if (!read_numeric_zone(&p, &f.offset))
                return -EINVAL;
        } else if (is_alpha(*p)) {
            const char *w = p;

            while (is_alpha(*p))
                p++;
            if (!word_eq(w, (size_t)(p - w), "utc") && !word_eq(w, (size_t)(p - w), "gmt"))
                return -EINVAL;
        }
        /* No zone at all: taken as UTC, as feed readers commonly do. */
    }
    while (is_space(*p))
        p++;
    if (*p != '\0')
        return -EINVAL;
    return fields_to_time(&f, ret_at);
}

/*
 * RFC 822 / 2822 as the wild writes it, read token by token: an optional weekday (checked
 * for nothing), day, month name, year (two digits: <50 is 20xx), time with optional seconds,
 * and a zone (name, military letter or numeric). asctime ("Wed Feb  9 21:49:00 2022") and
 * RFC 850 ("Wednesday, 09-Feb-22 21:49:00 GMT") fall out of the same rules.
 */
static int
parse_rfc822(const char *p, int64_t *ret_at)
{
    struct date_fields f = {0};
    bool have_day = false, have_year = false, have_time = false, have_zone = false;
    int ampm = 0; /* 1 = AM, 2 = PM */
    int year_digits = 0;

    /*
     * A leading word followed by a comma is the weekday slot ("Wed,", "Mittwoch,", "do,"):
     * ignored like an English weekday, whatever the language.
     */
    {
        const char *q = p;

        while (is_alpha(*q))
            q++;
        if (q - p >= 2 && q - p <= 12 && *q == '.')
            q++;
        if (q - p >= 2 && *q == ',')
            p = q + 1;
    }
    while (*p) {
        if (is_space(*p) || *p == ',') {
            p++;
        } else if (*p == '(') {
            /* An RFC 822 comment such as "(UTC)"; no nesting needed in practice. */
            const char *end = strchr(p, ')');

            if (!end)
                return -EINVAL;
            p = end + 1;
        } else if (is_alpha(*p)) {
            const char *w = p;
            size_t n;
            int m, off;

            while (is_alpha(*p))
                p++;
            n = (size_t)(p - w);
            if (*p == '.')
                p++;
            if ((m = word_month(w, n)) != 0) {
                if (f.mon)
                    return -EINVAL;
                f.mon = m;
            } else if (word_weekday(w, n)) {
                /* A wrong weekday is ignored: the date itself decides. */
            } else if (have_time && (word_eq(w, n, "am") || word_eq(w, n, "pm"))) {
                if (ampm)
                    return -EINVAL;
                ampm = word_eq(w, n, "am") ? 1 : 2;
            } else if (have_time && !have_zone && word_zone(w, n, &off)) {
                have_zone = true;
                f.offset = off;
                /* "GMT+0100": a numeric offset right after the UTC name. */
                if (off == 0 && (*p == '+' || *p == '-') && is_digit(p[1])) {
                    if (!read_numeric_zone(&p, &f.offset))
                        return -EINVAL;
                }
            } else {
                return -EINVAL;
            }
        } else if ((*p == '+' || *p == '-') && is_digit(p[1]) && have_time && !have_zone) {
            if (!read_numeric_zone(&p, &f.offset))
                return -EINVAL;
            have_zone = true;
        } else if (*p == '-' || *p == '/') {
            /* RFC 850 separates day, month and year with '-'. */
            if (*p == '/')
                return -EINVAL;
            p++;
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
            if (*p == ':') {
                if (have_time || n > 2)
                    return -EINVAL;
                f.hour = v;
                p++;
                if (!read_digits(&p, 2, &f.min))
                    return -EINVAL;
                if (*p == ':') {
                    p++;
                    if (!read_digits(&p, 2, &f.sec))
                        return -EINVAL;
                    if (*p == '.' && is_digit(p[1])) {
                        p++;
                        while (is_digit(*p))
                            p++;
                    }
                }
                if (is_digit(*p) || *p == ':')
                    return -EINVAL;
                have_time = true;
            } else if (n <= 2 && !have_day) {
                f.day = v;
                have_day = true;
            } else if ((n == 2 || n == 4) && !have_year) {
                f.year = v;
                year_digits = n;
                have_year = true;
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
        if (f.hour < 1 || f.hour > 12)
            return -EINVAL;
        if (f.hour == 12)
            f.hour = 0;
        if (ampm == 2)
            f.hour += 12;
    }
    if (f.hour > 23 && have_time)
        return -EINVAL;
    return fields_to_time(&f, ret_at);
}

/*
 * "2020/1/10 14:16:00": year first, so the order is not in doubt (unlike 01/02/2020, which
 * is rejected). Rewritten as ISO 8601 and read by parse_iso.
 */
static int
parse_slashed(const char *p, int64_t *ret_at)
{
    char iso[DATE_MAX_INPUT + 16];
    int y, m = 0, d = 0, k;

    if (!read_digits(&p, 4, &y) || *p++ != '/')
        return -EINVAL;
    for (k = 0; k < 2 && is_digit(*p); k++)
        m = m * 10 + (*p++ - '0');
    if (k == 0 || *p++ != '/')
        return -EINVAL;
    for (k = 0; k < 2 && is_digit(*p); k++)
        d = d * 10 + (*p++ - '0');
    if (k == 0 || is_digit(*p))
        return -EINVAL;
    if (snprintf(iso, sizeof(iso), "%04d-%02d-%02d%s", y, m, d, p) >= (int)sizeof(iso))
        return -EINVAL;
    return parse_iso(iso, ret_at);
}

static const char *
skip_space(const char *s, size_t *ret_len)
{
    size_t n;

    while (is_space(*s))
        s++;
    n = strlen(s);
    *ret_len = n;
    return s;
}

/* Parses a date in any supported form into Unix seconds; -EINVAL when it cannot be read. */
int
date_parse(const char *s, int64_t *ret_at)
{
    size_t n;
    int64_t at;
    int r;

    if (!s)
        return -EINVAL;
    s = skip_space(s, &n);
    if (n == 0 || n > DATE_MAX_INPUT)
        return -EINVAL;
    if (is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '/')
        r = parse_slashed(s, &at);
    else if (is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
             (s[4] == '-' || s[4] == 'W' || s[4] == '\0' || is_space(s[4]) || is_digit(s[4])))
        r = parse_iso(s, &at);
    else
        r = parse_rfc822(s, &at);
    if (r < 0)
        return r;
    *ret_at = at;
    return 0;
}

/* Parses an HTTP date (RFC 9110 IMF-fixdate and the obsolete forms); -EINVAL otherwise. */
int
date_parse_http(const char *s, int64_t *ret_at)
{
    size_t n;
    int64_t at;
    int r;

    /*
     * IMF-fixdate, RFC 850 and asctime are all forms of the RFC 822 reader; RFC 9110 §5.6.7
     * asks recipients to be tolerant, so the same leniency applies (two-digit years as in
     * date_parse, since a pure function has no clock to compare with).
     */
    if (!s)
        return -EINVAL;
    s = skip_space(s, &n);
    if (n == 0 || n > DATE_MAX_INPUT)
        return -EINVAL;
    r = parse_rfc822(s, &at);
    if (r < 0)
        return r;
    /*
     * The RFC 822 reader alone is lenient about field order; an HTTP date must also be one that
     * date_parse() reads the same way, so that no garbage becomes a wrong date (found by
     * fuzz_date: "9929 Feb 04:23b 9").
     */
    int64_t check;
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
