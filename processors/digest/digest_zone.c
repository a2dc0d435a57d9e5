/*
 * digest_zone.c - a team's local day through ICU (ucal_*): each call opens
 * its own calendar, so it is safe from any thread and never touches the
 * process's TZ; and the ranking of a day's RED alerts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "digest.h"

static UCalendar *open_zone(const char *zone)
{
    UChar z[128];
    if (!zone || strlen(zone) >= sizeof(z) / sizeof(z[0]) || !dg_zone_valid(zone))
        return NULL;
    u_uastrcpy(z, zone);
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *c = ucal_open(z, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st)) {
        if (c)
            ucal_close(c);
        return NULL;
    }
    return c;
}

bool dg_zone_valid(const char *zone)
{
    UChar z[128], canon[128];
    if (!zone || !*zone || strlen(zone) >= sizeof(z) / sizeof(z[0]))
        return false;
    u_uastrcpy(z, zone);
    UErrorCode st = U_ZERO_ERROR;
    UBool sys = 0;
    ucal_getCanonicalTimeZoneID(z, -1, canon, 128, &sys, &st);
    return !U_FAILURE(st) && sys;
}

int dg_local_day(const char *zone, int64_t t, char day[11], int64_t *start,
                 int64_t *end)
{
    UCalendar *c = open_zone(zone);
    if (!c)
        return -1;
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(c, (UDate)t, &st);
    int32_t y = ucal_get(c, UCAL_YEAR, &st);
    int32_t m = ucal_get(c, UCAL_MONTH, &st);
    int32_t d = ucal_get(c, UCAL_DATE, &st);
    ucal_setDateTime(c, y, m, d, 0, 0, 0, &st);
    ucal_set(c, UCAL_MILLISECOND, 0);
    UDate s = ucal_getMillis(c, &st);
    ucal_add(c, UCAL_DATE, 1, &st);
    UDate e = ucal_getMillis(c, &st);
    ucal_close(c);
    if (U_FAILURE(st))
        return -1;
    if (y < 0 || y > 9999 || m < 0 || m > 11 || d < 1 || d > 31)
        return -1;
    snprintf(day, 11, "%04u-%02u-%02u", (unsigned)y, (unsigned)m + 1u,
             (unsigned)d);
    *start = (int64_t)s;
    *end = (int64_t)e;
    return 0;
}

void dg_local_hm(const char *zone, int64_t t, char *out, size_t len)
{
    UCalendar *c = open_zone(zone);
    UErrorCode st = U_ZERO_ERROR;
    if (c) {
        ucal_setMillis(c, (UDate)t, &st);
        int32_t h = ucal_get(c, UCAL_HOUR_OF_DAY, &st);
        int32_t mi = ucal_get(c, UCAL_MINUTE, &st);
        ucal_close(c);
        if (!U_FAILURE(st)) {
            snprintf(out, len, "%02d:%02d", (int)h, (int)mi);
            return;
        }
    }
    snprintf(out, len, "%" PRId64, t);
}

static int sev_rank(const char *s)
{
    return !s ? 3 : strcmp(s, "RED") == 0 ? 0 : strcmp(s, "WARNING") == 0 ? 1 : 2;
}

static int tier_rank(const char *t)
{
    return t && t[0] >= 'A' && t[0] <= 'D' && !t[1] ? t[0] - 'A' : 4;
}

int dg_rank_cmp(const struct dg_note *a, const struct dg_note *b)
{
    int d = sev_rank(a->severity) - sev_rank(b->severity);
    if (d)
        return d;
    if ((d = tier_rank(a->tier) - tier_rank(b->tier)))
        return d;
    if (a->has_amount != b->has_amount)
        return a->has_amount ? -1 : 1;
    if (a->has_amount && a->amount != b->amount)
        return a->amount > b->amount ? -1 : 1;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return strcmp(a->alert_id, b->alert_id);
}

void dg_why(const struct dg_note *n, size_t pos, size_t total, const char *zone,
            char *out, size_t len)
{
    char hm[16], amount[48];
    dg_local_hm(zone, n->time, hm, sizeof(hm));
    if (n->has_amount)
        snprintf(amount, sizeof(amount), "opportunity amount %.0f", n->amount);
    else
        snprintf(amount, sizeof(amount), "no opportunity amount");
    snprintf(out, len, "#%zu of %zu %s: customer tier %s, %s, raised %s%s "
             "(rule: severity, tier, amount, then the oldest first)",
             pos, total, n->severity ? n->severity : "?",
             n->tier ? n->tier : "unknown", amount, hm,
             n->flags & DG_LATE ? ", late: from a day already closed" : "");
}
