/*
 * lead_rating.h - what the lead_rating processor's files share: its config
 * as bound from processors.lead_rating, and its state callbacks. Private to
 * processors/lead_rating/.
 */
#ifndef DS_LEAD_RATING_H
#define DS_LEAD_RATING_H

#include "graph.h"
#include "processor.h"

struct lr_edges {
    double company, supplier, competitor, policy, contact, device, tender;
};

struct lr_tiers {
    double a, b, c;
    double hysteresis;
};

struct lr_annotation_rule {
    char *signal; /* the map key */
    struct cfg_strlist doc_types;
    struct cfg_strlist author_roles;
    struct cfg_strlist keywords;
};

enum lr_attach { LR_ATTACH_CUSTOMER = 0, LR_ATTACH_COMPETITOR };

struct lr_transcript_rule {
    char *signal; /* the map key */
    struct cfg_strlist keywords;
    struct cfg_strlist speaker_roles;
    int attach; /* enum lr_attach */
};

struct lr_config {
    struct cfg_array signals; /* struct graph_signal_spec */
    struct lr_edges edges;
    double hop_decay;
    double fit_weight;
    double intent_weight;
    struct lr_tiers tiers;
    int64_t node_cap;
    int64_t signal_cap;
    double prune_floor;
    int64_t max_reasons;
    char *tender_winner_attribute;
    struct cfg_array annotation_rules;  /* struct lr_annotation_rule */
    struct cfg_array transcript_rules;  /* struct lr_transcript_rule */
};

extern const struct config_table lead_rating_config_table;

/* The state object of a customer: its graph (struct graph). */
void *lead_rating_state_new(const char *key);
void lead_rating_state_encode(const void *st, struct buf *out);
int lead_rating_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st);
void lead_rating_state_free(void *st);
void lead_rating_state_prefetch(const void *st, int depth);
void lead_rating_state_to_json(const void *st, struct jw *w);

#endif
