/*
 * meeting.c - conversation metrics of one meeting (see meeting.h).
 *
 * Everything here works on normalised text (lower-case Latin, full-width
 * forms folded, ASR spaces around CJK removed), so "？" is '?' and "Do" is
 * "do" by the time a heuristic looks at it.
 */
#include "meeting.h"

#include <stdlib.h>
#include <string.h>

#include "statecodec.h"
#include "utf8.h"

void meeting_metrics_init(struct meeting_metrics *mm)
{
    memset(mm, 0, sizeof(*mm));
    mm->first_start_ms = -1;
    mm->disc_start_ms = -1;
    mm->turn_role = ROLE_OTHER;
}

void meeting_metrics_clear(struct meeting_metrics *mm)
{
    if (!mm)
        return;
    free(mm->turn_speaker);
    free(mm->phase);
    meeting_metrics_init(mm);
}

static char *dup_capped(const char *s)
{
    size_t n = strnlen(s, MEETING_ID_MAX);
    /* Never cut a UTF-8 sequence in half. */
    while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return strndup(s, n);
}

static enum role role_ok(enum role r)
{
    return (unsigned)r <= ROLE_OTHER ? r : ROLE_OTHER;
}

/* ---- scripts (decoding: utf8.h) ---- */

static bool is_cjk_letter(uint32_t cp)
{
    return (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) ||
           (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3ffff);
}

static bool is_latin_letter(uint32_t cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           (cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7);
}

void meeting_count_script(const char *text, uint64_t *cjk, uint64_t *latin)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        if (is_cjk_letter(cp))
            (*cjk)++;
        else if (is_latin_letter(cp))
            (*latin)++;
    }
}

/* ---- backchannels ---- */

bool meeting_backchannel_form(const char *text, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        bool drop = (cp < 0x80 && !((cp >= 'a' && cp <= 'z') ||
                                    (cp >= 'A' && cp <= 'Z') ||
                                    (cp >= '0' && cp <= '9'))) ||
                    (cp >= 0x3000 && cp <= 0x303f) ||
                    (cp >= 0x2000 && cp <= 0x206f) ||
                    (cp >= 0xff00 && cp <= 0xff0f);
        if (!drop) {
            if (o + len >= cap)
                return false;
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return true;
}

bool meeting_is_backchannel(const char *norm, const struct meeting_lexicon *lx)
{
    char t[MEETING_BACKCHANNEL_MAX];
    if (!meeting_backchannel_form(norm ? norm : "", t, sizeof(t)))
        return false;
    if (t[0] == '\0')
        return true; /* only punctuation or noise */
    for (size_t i = 0; lx && i < lx->n_backchannels; i++)
        if (strcmp(t, lx->backchannels[i]) == 0)
            return true;
    return false;
}

/* ---- questions ---- */

static bool sentence_is_question(const char *s, size_t n, char term,
                                 const struct meeting_lexicon *lx)
{
    size_t i = 0;
    /* Skip leading spaces and ASCII punctuation to find the content. */
    while (i < n && (unsigned char)s[i] < 0x80 &&
           !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
             (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    if (i == n)
        return false; /* empty sentence */
    if (term == '?')
        return true;
    /* An ASCII sentence cannot hold a cue that starts beyond ASCII (the
     * Chinese particles): skip their memmem, ~1 % of the loop. */
    bool ascii = true;
    for (size_t k = i; ascii && k < n; k++)
        ascii = (unsigned char)s[k] < 0x80;
    for (size_t k = 0; lx && k < lx->n_question_cues; k++) {
        const char *cue = lx->question_cues[k];
        if (ascii && (unsigned char)cue[0] >= 0x80)
            continue;
        size_t cl = strlen(cue);
        if (cl && memmem(s, n, cue, cl))
            return true;
    }
    size_t w = i;
    while (w < n && s[w] >= 'a' && s[w] <= 'z')
        w++;
    if (w == i)
        return false;
    for (size_t k = 0; lx && k < lx->n_question_openers; k++) {
        const char *op = lx->question_openers[k];
        if (strlen(op) == w - i && memcmp(op, s + i, w - i) == 0)
            return true;
    }
    return false;
}

unsigned meeting_count_questions(const char *norm,
                                 const struct meeting_lexicon *lx)
{
    const char *s = norm ? norm : "";
    size_t n = strlen(s), start = 0;
    unsigned q = 0;
    for (size_t i = 0; i <= n;) {
        char term = 0;
        size_t tlen = 1;
        if (i == n) {
            term = '\n';
        } else if (s[i] == '?' || s[i] == '!' || s[i] == '.' || s[i] == ';') {
            term = s[i];
        } else if ((unsigned char)s[i] == 0xe3 && i + 2 < n &&
                   (unsigned char)s[i + 1] == 0x80 &&
                   (unsigned char)s[i + 2] == 0x82) {
            term = '.'; /* 。 */
            tlen = 3;
        }
        if (term) {
            if (sentence_is_question(s + start, i - start, term, lx))
                q++;
            i += tlen;
            start = i;
        } else {
            i++;
        }
    }
    return q;
}

/* ---- folding a segment in ---- */

static bool in_discovery(const struct meeting_metrics *mm)
{
    return mm->disc_start_ms >= 0;
}

static void apply_phase(struct meeting_metrics *mm, const struct meeting_seg *s,
                        const struct meeting_lexicon *lx,
                        struct meeting_delta *d)
{
    if (!s->phase)
        return;
    mm->any_phase = true;
    if (mm->phase && strncmp(mm->phase, s->phase, MEETING_ID_MAX) == 0)
        return;
    if (in_discovery(mm)) {
        mm->discovery_ms += mm->disc_last_end_ms - mm->disc_start_ms;
        mm->disc_start_ms = -1;
        mm->discovery_ended = true;
        d->discovery_ended = true;
    }
    free(mm->phase);
    mm->phase = dup_capped(s->phase);
    if (lx && lx->discovery_phase && strcmp(s->phase, lx->discovery_phase) == 0) {
        mm->discovery_seen = true;
        mm->disc_start_ms = s->start_ms;
        mm->disc_last_end_ms = s->start_ms;
    }
}

void meeting_apply(struct meeting_metrics *mm, const struct meeting_seg *s,
                   const struct meeting_lexicon *lx, struct meeting_delta *dout)
{
    struct meeting_delta d = {0};
    enum role r = role_ok(s->role);
    int64_t start = s->start_ms;
    int64_t end = s->end_ms < start ? start : s->end_ms;
    const char *norm = s->norm ? s->norm : "";

    mm->segments++;
    if (mm->first_start_ms < 0 || start < mm->first_start_ms)
        mm->first_start_ms = start;
    if (end > mm->last_end_ms)
        mm->last_end_ms = end;
    mm->talk_ms[r] += end - start;
    meeting_count_script(norm, &mm->cjk_chars, &mm->latin_chars);

    apply_phase(mm, s, lx, &d);
    if (in_discovery(mm) && end > mm->disc_last_end_ms)
        mm->disc_last_end_ms = end;

    d.backchannel = meeting_is_backchannel(norm, lx);
    if (!d.backchannel) {
        const char *spk = s->speaker_id ? s->speaker_id : role_name(r);
        if (!mm->turn_speaker ||
            strncmp(mm->turn_speaker, spk, MEETING_ID_MAX) != 0) {
            if (mm->turn_speaker)
                mm->switches++;
            free(mm->turn_speaker);
            mm->turn_speaker = dup_capped(spk);
            mm->turn_role = r;
            mm->turns++;
            mm->turns_by_role[r]++;
            mm->turn_start_ms = start;
            mm->turn_end_ms = end;
        }
        if (end > mm->turn_end_ms)
            mm->turn_end_ms = end;
        int64_t len = mm->turn_end_ms - mm->turn_start_ms;
        if (len > mm->longest_turn_ms[mm->turn_role])
            mm->longest_turn_ms[mm->turn_role] = len;
        d.questions = meeting_count_questions(norm, lx);
        if (r == ROLE_REP) {
            mm->rep_questions += d.questions;
            if (in_discovery(mm))
                mm->rep_questions_discovery += d.questions;
        }
    }
    d.turn_role = mm->turn_role;
    d.turn_ms = mm->turn_speaker ? mm->turn_end_ms - mm->turn_start_ms : 0;
    if (dout)
        *dout = d;
}

/* ---- derived values ---- */

int64_t meeting_duration_ms(const struct meeting_metrics *mm)
{
    return mm->first_start_ms < 0 ? 0 : mm->last_end_ms - mm->first_start_ms;
}

int64_t meeting_total_talk_ms(const struct meeting_metrics *mm)
{
    return mm->talk_ms[ROLE_REP] + mm->talk_ms[ROLE_CUSTOMER] +
           mm->talk_ms[ROLE_OTHER];
}

double meeting_rep_share(const struct meeting_metrics *mm)
{
    int64_t total = meeting_total_talk_ms(mm);
    return total > 0 ? (double)mm->talk_ms[ROLE_REP] / (double)total : 0.0;
}

double meeting_switches_per_min(const struct meeting_metrics *mm)
{
    int64_t dur = meeting_duration_ms(mm);
    return dur > 0 ? (double)mm->switches * 60000.0 / (double)dur : 0.0;
}

int64_t meeting_discovery_ms(const struct meeting_metrics *mm)
{
    return mm->discovery_ms +
           (in_discovery(mm) ? mm->disc_last_end_ms - mm->disc_start_ms : 0);
}

bool meeting_is_chinese(const struct meeting_metrics *mm, double cjk_ratio)
{
    uint64_t all = mm->cjk_chars + mm->latin_chars;
    if (all == 0)
        return false;
    return (double)mm->cjk_chars >= cjk_ratio * (double)all;
}

size_t meeting_metrics_export(const struct meeting_metrics *mm,
                              struct metric *out, size_t cap)
{
    uint64_t letters = mm->cjk_chars + mm->latin_chars;
    const struct metric all[MEETING_N_METRICS] = {
        {"duration_ms", (double)meeting_duration_ms(mm)},
        {"segments", mm->segments},
        {"rep_talk_ms", (double)mm->talk_ms[ROLE_REP]},
        {"customer_talk_ms", (double)mm->talk_ms[ROLE_CUSTOMER]},
        {"other_talk_ms", (double)mm->talk_ms[ROLE_OTHER]},
        {"talk_ratio", meeting_rep_share(mm)},
        {"turns", mm->turns},
        {"rep_turns", mm->turns_by_role[ROLE_REP]},
        {"customer_turns", mm->turns_by_role[ROLE_CUSTOMER]},
        {"speaker_switches", mm->switches},
        {"switches_per_min", meeting_switches_per_min(mm)},
        {"longest_rep_monologue_ms", (double)mm->longest_turn_ms[ROLE_REP]},
        {"longest_customer_story_ms",
         (double)mm->longest_turn_ms[ROLE_CUSTOMER]},
        {"rep_questions", mm->rep_questions},
        {"discovery_questions", mm->rep_questions_discovery},
        {"discovery_ms", (double)meeting_discovery_ms(mm)},
        {"product_focus", mm->product_focus},
        {"customer_focus", mm->customer_focus},
        {"competitor_mentions", mm->competitor_mentions},
        {"objections_raised", mm->objections_raised},
        {"objections_unanswered", mm->objections_unanswered},
        {"cjk_share", letters ? (double)mm->cjk_chars / (double)letters : 0.0},
    };
    size_t n = cap < MEETING_N_METRICS ? cap : MEETING_N_METRICS;
    memcpy(out, all, n * sizeof(*out));
    return n;
}

/* ---- encoding ---- */

void meeting_metrics_encode(const struct meeting_metrics *mm, struct buf *out)
{
    buf_put_i64(out, mm->first_start_ms);
    buf_put_i64(out, mm->last_end_ms);
    buf_put_varint(out, mm->segments);
    for (int r = 0; r < 3; r++) {
        buf_put_i64(out, mm->talk_ms[r]);
        buf_put_varint(out, mm->turns_by_role[r]);
        buf_put_i64(out, mm->longest_turn_ms[r]);
    }
    buf_put_varint(out, mm->turns);
    buf_put_varint(out, mm->switches);
    buf_put_str(out, mm->turn_speaker);
    buf_put_u8(out, (uint8_t)mm->turn_role);
    buf_put_i64(out, mm->turn_start_ms);
    buf_put_i64(out, mm->turn_end_ms);
    buf_put_varint(out, mm->rep_questions);
    buf_put_varint(out, mm->rep_questions_discovery);
    buf_put_str(out, mm->phase);
    buf_put_u8(out, (uint8_t)((mm->any_phase ? 1 : 0) |
                              (mm->discovery_seen ? 2 : 0) |
                              (mm->discovery_ended ? 4 : 0)));
    buf_put_i64(out, mm->discovery_ms);
    buf_put_i64(out, mm->disc_start_ms);
    buf_put_i64(out, mm->disc_last_end_ms);
    buf_put_varint(out, mm->cjk_chars);
    buf_put_varint(out, mm->latin_chars);
    buf_put_varint(out, mm->product_focus);
    buf_put_varint(out, mm->customer_focus);
    buf_put_varint(out, mm->competitor_mentions);
    buf_put_varint(out, mm->objections_raised);
    buf_put_varint(out, mm->objections_unanswered);
}

int meeting_metrics_decode(struct meeting_metrics *mm, struct buf_reader *r)
{
    meeting_metrics_clear(mm);
    mm->first_start_ms = buf_get_i64(r);
    mm->last_end_ms = buf_get_i64(r);
    mm->segments = statecodec_u32(r);
    for (int i = 0; i < 3; i++) {
        mm->talk_ms[i] = buf_get_i64(r);
        mm->turns_by_role[i] = statecodec_u32(r);
        mm->longest_turn_ms[i] = buf_get_i64(r);
    }
    mm->turns = statecodec_u32(r);
    mm->switches = statecodec_u32(r);
    mm->turn_speaker = buf_get_str(r);
    uint8_t role = buf_get_u8(r);
    if (role > ROLE_OTHER)
        r->err = true;
    mm->turn_role = (enum role)(role > ROLE_OTHER ? ROLE_OTHER : role);
    mm->turn_start_ms = buf_get_i64(r);
    mm->turn_end_ms = buf_get_i64(r);
    mm->rep_questions = statecodec_u32(r);
    mm->rep_questions_discovery = statecodec_u32(r);
    mm->phase = buf_get_str(r);
    uint8_t flags = buf_get_u8(r);
    mm->any_phase = flags & 1;
    mm->discovery_seen = flags & 2;
    mm->discovery_ended = flags & 4;
    mm->discovery_ms = buf_get_i64(r);
    mm->disc_start_ms = buf_get_i64(r);
    mm->disc_last_end_ms = buf_get_i64(r);
    mm->cjk_chars = buf_get_varint(r);
    mm->latin_chars = buf_get_varint(r);
    mm->product_focus = statecodec_u32(r);
    mm->customer_focus = statecodec_u32(r);
    mm->competitor_mentions = statecodec_u32(r);
    mm->objections_raised = statecodec_u32(r);
    mm->objections_unanswered = statecodec_u32(r);
    if (r->err) {
        meeting_metrics_clear(mm);
        return -1;
    }
    return 0;
}

void meeting_metrics_to_json(const struct meeting_metrics *mm, struct jw *w)
{
    struct metric m[MEETING_N_METRICS];
    size_t n = meeting_metrics_export(mm, m, MEETING_N_METRICS);
    for (size_t i = 0; i < n; i++)
        jw_double(w, m[i].name, m[i].value);
    jw_str(w, "phase", mm->phase);
    jw_str(w, "turn_speaker", mm->turn_speaker);
    jw_int(w, "current_turn_ms",
           mm->turn_speaker ? mm->turn_end_ms - mm->turn_start_ms : 0);
}
