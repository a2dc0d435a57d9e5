/*
 * meeting.h - conversation metrics of one meeting, updated segment by
 * segment.
 *
 * Pure code over already-normalised text (matcher_normalize()), kept apart
 * from the coaching processor so the metric definitions can be unit-tested
 * and read on their own:
 *   - talk time per role (every segment, backchannels included),
 *   - turns: consecutive segments of one speaker merged; a backchannel
 *     ("嗯", "好的", "ok", "right") neither starts a turn nor interrupts one,
 *   - longest turn per role (the rep's monologue, the customer's story),
 *   - speaker switches (per minute of meeting time),
 *   - rep questions: sentences ending in '?' (full-width folded), holding a
 *     Chinese cue (吗, 呢, 什么, ...) or opening with an English wh-/aux word,
 *   - time in the discovery phase: contiguous stretches of segments labelled
 *     with that phase, from the first one's start to the last one's end
 *     (silence inside a stretch counts, the gap to another phase does not);
 *     a segment without a phase continues the current phase,
 *   - CJK and Latin letter counts, for the meeting's language,
 *   - counters the caller fills from its keyword libraries (focus phrases,
 *     competitor mentions, objections), so all metrics travel together.
 */
#ifndef DS_MEETING_H
#define DS_MEETING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "buf.h"
#include "event.h"
#include "jsonw.h"

#define MEETING_ID_MAX 64 /* bytes kept of a speaker id or phase name */
#define MEETING_BACKCHANNEL_MAX 64 /* bytes of a backchannel's compared form */

/* Word lists for the heuristics, already normalised (borrowed). */
struct meeting_lexicon {
    const char *discovery_phase; /* e.g. "needs_discovery" */
    const char *const *backchannels; /* in meeting_backchannel_form() */
    size_t n_backchannels;
    const char *const *question_cues; /* substrings, e.g. "吗", "什么" */
    size_t n_question_cues;
    const char *const *question_openers; /* first words, e.g. "what", "do" */
    size_t n_question_openers;
};

struct meeting_seg {
    const char *speaker_id;
    enum role role;
    int64_t start_ms; /* meeting time */
    int64_t end_ms;
    const char *norm;  /* normalised text */
    const char *phase; /* NULL: the current phase continues */
};

/* What one segment changed, for rules judged on the spot. */
struct meeting_delta {
    bool backchannel;
    unsigned questions;    /* question sentences in this segment */
    bool discovery_ended;  /* the meeting just left the discovery phase */
    enum role turn_role;   /* role of the current turn */
    int64_t turn_ms;       /* length of the current turn so far */
};

struct meeting_metrics {
    int64_t first_start_ms; /* -1 before the first segment */
    int64_t last_end_ms;
    uint32_t segments;
    int64_t talk_ms[3]; /* by enum role */
    uint32_t turns;
    uint32_t turns_by_role[3];
    uint32_t switches;
    int64_t longest_turn_ms[3]; /* by role */
    /* current turn */
    char *turn_speaker; /* owned; NULL before the first turn */
    enum role turn_role;
    int64_t turn_start_ms, turn_end_ms;
    /* questions */
    uint32_t rep_questions;
    uint32_t rep_questions_discovery;
    /* phases */
    char *phase; /* owned; current phase, NULL if none seen */
    bool any_phase;
    bool discovery_seen;
    bool discovery_ended; /* left the discovery phase at least once */
    int64_t discovery_ms;     /* closed stretches */
    int64_t disc_start_ms;    /* open stretch start, -1 when not in it */
    int64_t disc_last_end_ms; /* open stretch end so far */
    /* script, for the language */
    uint64_t cjk_chars, latin_chars;
    /* Counted by the caller from its keyword libraries. */
    uint32_t product_focus;  /* rep's product-centric phrases */
    uint32_t customer_focus; /* rep's customer-centric phrases */
    uint32_t competitor_mentions;
    uint32_t objections_raised;
    uint32_t objections_unanswered;
};

void meeting_metrics_init(struct meeting_metrics *mm);
void meeting_metrics_clear(struct meeting_metrics *mm); /* frees, re-inits */

/* Folds one segment in; d (optional) receives what changed. */
void meeting_apply(struct meeting_metrics *mm, const struct meeting_seg *s,
                   const struct meeting_lexicon *lx, struct meeting_delta *d);

int64_t meeting_duration_ms(const struct meeting_metrics *mm);
int64_t meeting_total_talk_ms(const struct meeting_metrics *mm);
double meeting_rep_share(const struct meeting_metrics *mm); /* 0..1 */
double meeting_switches_per_min(const struct meeting_metrics *mm);
/* Discovery time including the stretch still open. */
int64_t meeting_discovery_ms(const struct meeting_metrics *mm);
/* The share of CJK characters among letters reaches `cjk_ratio`. */
bool meeting_is_chinese(const struct meeting_metrics *mm, double cjk_ratio);

/* The heuristics on their own (normalised text). */
bool meeting_is_backchannel(const char *norm, const struct meeting_lexicon *lx);
/* The form a segment and the lexicon's backchannels are compared in: the
 * text without punctuation and spaces, into out (cap bytes). False when it
 * does not fit (a backchannel is short, so such a text is none). Lexicons
 * hold their backchannels in this form, made once, not per segment. */
bool meeting_backchannel_form(const char *norm, char *out, size_t cap);
unsigned meeting_count_questions(const char *norm,
                                 const struct meeting_lexicon *lx);
void meeting_count_script(const char *text, uint64_t *cjk, uint64_t *latin);

/* Named metrics for alerts and the MeetingSummary; names are static.
 * Returns how many were written (at most cap). */
#define MEETING_N_METRICS 22
size_t meeting_metrics_export(const struct meeting_metrics *mm,
                              struct metric *out, size_t cap);

/* State encoding (no version byte: the enclosing object carries it). */
void meeting_metrics_encode(const struct meeting_metrics *mm, struct buf *out);
/* 0, or -1 on truncated/invalid bytes (mm is then cleared). mm must be
 * initialised. */
int meeting_metrics_decode(struct meeting_metrics *mm, struct buf_reader *r);
/* Writes the fields into the current JSON object. */
void meeting_metrics_to_json(const struct meeting_metrics *mm, struct jw *w);

#endif
