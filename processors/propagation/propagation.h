/*
 * propagation.h - what the propagation processor's files share: its
 * config, its state objects and the records it sends itself. Private to
 * processors/propagation/.
 */
#ifndef DS_PROPAGATION_H
#define DS_PROPAGATION_H

#include <stdbool.h>
#include <stdint.h>

#include "entity_signal.h"
#include "processor.h"
#include "repmarks.h"
#include "statecodec.h"

struct pg_config {
    int64_t max_fanout; /* linked customers one entity event reaches */
    int64_t max_links;  /* customers kept in one entity's index */
    int64_t history;    /* signals remembered per customer, for inspect */
    bool retroactive;   /* a new link receives the entity's latest news */
};

extern const struct config_table propagation_config_table;

/* Records through the repartition topic, by their first byte. */
enum pg_rec {
    PG_REC_LINK = 'L',               /* customer -> entity: linked */
    PG_REC_UNLINK = 'U',             /* customer -> entity: unlinked */
    PG_REC_SIGNAL = ENTITY_SIGNAL_TAG /* entity -> customer */
};

/* State keys: "<entity_id>/entity" in the entity's partition,
 * "<customer_id>/inbox" in the customer's. Every object starts with an int
 * naming its kind. */
#define PG_ENTITY_SUFFIX "/entity"
#define PG_INBOX_SUFFIX "/inbox"
enum pg_obj_kind { PG_OBJ_ENTITY = 1, PG_OBJ_INBOX };

/* A customer linked to an entity. */
struct pg_link {
    char *customer_id;
    char *relation;    /* SUPPLIER_LINKED, COMPETITOR_LINKED, POLICY_LINKED */
    int64_t linked_at; /* ms: event time of the link */
};

/* The latest news about the entity, for propagation.retroactive. */
struct pg_news {
    char *event_id;    /* NULL: none yet */
    char *change;
    bool has_magnitude;
    double magnitude;
    int64_t time;      /* ms */
};

struct pg_entity {
    int obj_kind;      /* PG_OBJ_ENTITY */
    int entity_type;   /* enum entity_type of the latest link */
    struct pg_link *links; /* sorted by customer_id */
    size_t n_links;
    uint64_t events;        /* entity events fanned out */
    uint64_t delivered;     /* signal records sent */
    uint64_t capped;        /* events that hit max_fanout */
    uint64_t links_refused; /* links over max_links */
    struct pg_news last;
    struct repmarks marks;
};

/* A signal delivered to the customer: where it came from. */
struct pg_delivered {
    char *entity_id;
    char *signal;   /* entity.<TYPE>.<change> */
    char *event_id; /* the EntityEvent's */
    char *relation;
    int64_t time;   /* ms: the EntityEvent's time */
    double magnitude;
};

struct pg_inbox {
    int obj_kind; /* PG_OBJ_INBOX */
    struct pg_delivered *v; /* newest last, at most history */
    size_t n;
    uint64_t total;
    struct repmarks marks;
};

void *propagation_state_new(const char *key);
void propagation_state_encode(const void *st, struct buf *out);
int propagation_state_decode(const char *key, const uint8_t *data, size_t len,
                             void **st);
void propagation_state_free(void *st);
void propagation_state_to_json(const void *st, struct jw *w);

#endif
