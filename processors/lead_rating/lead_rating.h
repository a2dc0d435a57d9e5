/*
 * lead_rating.h - what the lead_rating processor's files share: its config
 * as bound from processors.lead_rating, and its state callbacks. Private to
 * processors/lead_rating/.
 */
#ifndef DS_LEAD_RATING_H
#define DS_LEAD_RATING_H

#include "graph.h"
#include "processor.h"
#include "repmarks.h"
#include "statecodec.h"

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

/* processors.lead_rating.erp (lead_rating_erp.c). */
struct lr_erp_config {
    int64_t window;      /* ms: time constant (mean age) of the recent rate */
    int64_t baseline;    /* ms: time constant of the customer's own baseline */
    double rise_ratio;   /* recent / baseline rate that counts as a rise */
    int64_t min_orders;  /* orders in the category before a rise counts */
    int64_t min_history; /* ms since the category's first order */
    int64_t max_categories;
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
    struct lr_erp_config erp;
};

extern const struct config_table lead_rating_config_table;

/*
 * State objects, each starting with an int naming its kind:
 *   "<customer>"      LR_OBJ_GRAPH  struct graph
 *   "<customer>/ext"  LR_OBJ_EXT    struct lr_ext: ERP order rates, and
 *                     the marks of the propagated signals applied
 */
enum lr_obj_kind { LR_OBJ_GRAPH = 0, LR_OBJ_EXT };
#define LR_EXT_SUFFIX "/ext"

/* One part category's order rates, decayed quantity sums at `ref`. */
struct lr_erp_cat {
    char *category;
    double recent;       /* decayed with time constant erp.window */
    double base;         /* decayed with time constant erp.baseline */
    int64_t ref;         /* ms: latest order */
    int64_t since;       /* ms: first order */
    uint64_t orders;
    double ratio;        /* recent / baseline rate at the latest order */
    char *supplier;      /* latest supplier, NULL when never named */
    int64_t supplier_at; /* ms */
};

struct lr_ext {
    int obj_kind; /* LR_OBJ_EXT */
    struct lr_erp_cat *cats;
    size_t n_cats;
    int64_t baseline; /* ms: erp.baseline at the latest order, for the text */
    struct repmarks marks; /* propagated signals (repartition_from) */
};

void *lead_rating_ext_new(void);
void lead_rating_ext_free(struct lr_ext *x);
void lead_rating_ext_encode(const struct lr_ext *x, struct buf *out);
int lead_rating_ext_decode(const uint8_t *data, size_t len, struct lr_ext **out);
void lead_rating_ext_to_json(const struct lr_ext *x, struct jw *w);

/* ERP: a parts order on the customer's graph and ext object
 * (lead_rating_erp.c). */
void lead_rating_erp_apply(const struct lr_config *cfg,
                           const struct graph_params *p, struct graph *g,
                           struct lr_ext *x, const struct event *ev);
/* Readable text of category c ("spare_parts orders 3.1x their 90-day
 * rate") into out, as inspect shows it. */
void lead_rating_erp_explain(const struct lr_ext *x, const struct lr_erp_cat *c,
                             char *out, size_t n);
/* The same text for a factor "erp.<category>.parts_rise" of x; false for
 * any other factor (or x NULL). */
bool lead_rating_erp_detail(const struct lr_ext *x, const char *factor,
                            char *out, size_t n);

/* A propagation signal record (entity_signal.h) for customer ev->key into
 * g, linking the entity's node if it is gone (lead_rating_entity.c). 0, 1
 * when it is a copy already applied (per x's marks), -1 on bad bytes. */
int lead_rating_entity_deliver(const struct graph_params *p, struct graph *g,
                               struct lr_ext *x, const struct event *ev);

/* The state object of a key: a graph or an ext object. */
void *lead_rating_state_new(const char *key);
void lead_rating_state_encode(const void *st, struct buf *out);
int lead_rating_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st);
void lead_rating_state_free(void *st);
void lead_rating_state_prefetch(const void *st, int depth);
void lead_rating_state_to_json(const void *st, struct jw *w);

#endif
