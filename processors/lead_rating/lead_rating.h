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

/* processors.lead_rating.service_tickets (lead_rating_service.c). */
struct lr_service_config {
    bool enabled;
    int64_t window;                  /* ms */
    int64_t min_tickets;             /* tickets on a line within window */
    struct cfg_strlist ticket_types; /* IotAlert alert_types that count */
    bool parts_orders;     /* parts orders naming a device count too */
    char *line_attribute;  /* DEVICE registry attribute naming its line */
    struct cfg_strlist closed_stages; /* stage_to of a closed opportunity */
    int severity;          /* enum alert_severity of the coaching alert */
    int64_t max_lines;     /* lines tracked per customer */
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
    struct lr_service_config service;
};

extern const struct config_table lead_rating_config_table;

/*
 * State objects, each starting with an int naming its kind:
 *   "<customer>"      LR_OBJ_GRAPH  struct graph
 *   "<customer>/ext"  LR_OBJ_EXT    struct lr_ext: ERP order rates, and
 *                     the marks of the propagated signals applied
 *   "<customer>/svc"  LR_OBJ_SVC    struct lr_svc: the service-ticket
 *                     template's devices, lines and opportunities
 */
enum lr_obj_kind { LR_OBJ_GRAPH = 0, LR_OBJ_EXT, LR_OBJ_SVC };
#define LR_EXT_SUFFIX "/ext"
#define LR_SVC_SUFFIX "/svc"

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

/* A ticket: an IoT alert of a ticket type, or a parts order. */
struct lr_svc_ticket {
    int64_t time; /* ms: event time */
    char *kind;   /* the alert_type, or "parts_order" */
    char *device;
};

/* A device line's tickets within the window of its latest one. */
struct lr_svc_line {
    char *line;
    bool by_device; /* the name is a device id: no line known for it */
    struct lr_svc_ticket *tickets; /* by time */
    size_t n_tickets;
    int64_t last;       /* ms: latest ticket */
    bool alerted;
    int64_t alerted_at; /* ms: event time of the latest alert */
    char *alert_text;   /* its message, the re-rating reason's detail */
};

struct lr_svc_device {
    char *device;
    char *line;
    int64_t time; /* ms: the registry change that named the line */
};

struct lr_svc_opp {
    char *opportunity;
    char *line;
    bool open;
    int64_t time; /* ms: its latest update */
};

struct lr_svc {
    int obj_kind;  /* LR_OBJ_SVC */
    char *rep_id;  /* the latest opportunity update's rep: the account's */
    int64_t rep_at; /* ms */
    struct lr_svc_device *devices;
    size_t n_devices;
    struct lr_svc_opp *opps; /* those for a device line */
    size_t n_opps;
    struct lr_svc_line *lines;
    size_t n_lines;
};

void *lead_rating_svc_new(void);
void lead_rating_svc_free(struct lr_svc *s);
void lead_rating_svc_encode(const struct lr_svc *s, struct buf *out);
int lead_rating_svc_decode(const uint8_t *data, size_t len, struct lr_svc **out);
void lead_rating_svc_to_json(const struct lr_svc *s, struct jw *w);

/* The service-ticket template (lead_rating_service.c). Whether ev changes
 * the customer's svc object (cfg->service.enabled and a ticket, a DEVICE
 * registry change naming a line, or an opportunity update). */
bool lead_rating_service_wants(const struct lr_config *cfg,
                               const struct event *ev);
/* Applies ev to s; a ticket that makes min_tickets on a line with no open
 * opportunity adds "service.<line>.no_opportunity" to g (unless g is NULL)
 * and emits one CoachingAlert per line and window. 0, -1 when the alert
 * could not be emitted (ctx_fail called). */
int lead_rating_service_apply(const struct lr_config *cfg,
                              const struct graph_params *p, struct graph *g,
                              struct lr_svc *s, struct proc_ctx *ctx,
                              const struct event *ev);
/* The latest alert's text of the line named by a factor
 * "service.<line>.no_opportunity" of s; false for any other factor. */
bool lead_rating_service_detail(const struct lr_svc *s, const char *factor,
                                char *out, size_t n);

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
