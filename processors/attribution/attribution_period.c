/*
 * attribution_period.c - weeks, months and quarters as numbers, in the
 * local time of a fixed UTC offset. Civil dates use the proleptic
 * Gregorian calendar through day counts from 1970-01-01 (the era-based
 * conversion of Howard Hinnant's chrono notes), so no libc time zone
 * state is touched and the result does not depend on the host.
 */
#include <stdio.h>
#include <string.h>

#include "attribution.h"

#define DAY_MS 86400000LL

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days from 1970-01-01 to y-m-d (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Week p starts on Monday, day 7p - 3 (1970-01-01 was a Thursday). */
int32_t attribution_period_of(int kind, int64_t offset_ms, int64_t t_ms)
{
    int64_t days = floor_div(t_ms + offset_ms, DAY_MS);
    if (kind == AT_WEEK)
        return (int32_t)floor_div(days + 3, 7);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return kind == AT_MONTH ? (int32_t)(y * 12 + m - 1)
                            : (int32_t)(y * 4 + (m - 1) / 3);
}

int64_t attribution_period_start(int kind, int64_t offset_ms, int32_t p)
{
    int64_t days;
    if (kind == AT_WEEK)
        days = (int64_t)p * 7 - 3;
    else if (kind == AT_MONTH)
        days = days_from_civil(floor_div(p, 12), (int)(p - floor_div(p, 12) * 12) + 1, 1);
    else
        days = days_from_civil(floor_div(p, 4), (int)(p - floor_div(p, 4) * 4) * 3 + 1, 1);
    return days * DAY_MS - offset_ms;
}

void attribution_period_label(int kind, int32_t p, char *out, size_t n)
{
    if (kind == AT_MONTH) {
        snprintf(out, n, "%04lld-%02d", (long long)floor_div(p, 12),
                 (int)(p - floor_div(p, 12) * 12) + 1);
    } else if (kind == AT_QUARTER) {
        snprintf(out, n, "%04lld-Q%d", (long long)floor_div(p, 4),
                 (int)(p - floor_div(p, 4) * 4) + 1);
    } else {
        /* ISO 8601: the week belongs to the year of its Thursday. */
        int64_t thursday = (int64_t)p * 7, y;
        int m, d;
        civil_from_days(thursday, &y, &m, &d);
        int64_t week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
        snprintf(out, n, "%04lld-W%02lld", (long long)y, (long long)week);
    }
}

int32_t attribution_period_season(int kind)
{
    return kind == AT_MONTH ? 12 : kind == AT_QUARTER ? 4 : 52;
}

int attribution_zone_parse(const char *s, int64_t *offset_ms)
{
    if (!s)
        return -1;
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
        *offset_ms = 0;
        return 0;
    }
    int sign = s[0] == '+' ? 1 : s[0] == '-' ? -1 : 0;
    if (!sign)
        return -1;
    const char *p = s + 1;
    int h = 0, m = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 2) {
        h = h * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits)
        return -1;
    if (*p == ':')
        p++;
    if (*p) {
        if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9') || p[2])
            return -1;
        m = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (h > 14 || m > 59)
        return -1;
    *offset_ms = sign * ((int64_t)h * 3600000 + (int64_t)m * 60000);
    return 0;
}
