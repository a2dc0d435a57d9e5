/*
 * graph.h - the per-customer behaviour graph of the lead_rating processor and
 * the pure scoring math over it.
 *
 * A graph is a star: the customer node (always nodes[0]) and its neighbours
 * (contacts, devices, suppliers, competitors, policies, tenders, companies),
 * each joined to the customer by one typed, time-stamped, weighted edge. One
 * hop is all the propagation the score uses, so edges between neighbours
 * would carry no information; a star keeps the state small and the math
 * obvious.
 *
 * Signals hang on nodes: a signal type ("iot.vibration_anomaly.CRITICAL")
 * with an accumulated value decayed to a reference time. Adding an event is
 * O(1): the stored value is decayed to the event time and the amount added;
 * an event older than the reference adds its own amount decayed forward
 * instead. Either way the value at the reference time is the sum of every
 * amount decayed to it, whatever the arrival order, so the final score is
 * order independent (up to float rounding).
 *
 * Scoring (graph_rescore) happens at the graph's `now`, the latest event
 * time seen: per signal spec, the decayed values of all nodes are summed,
 * each weighted by its propagation factor (1 on the customer, edge weight x
 * hop decay on a neighbour), and passed through a saturation curve
 *     c = saturation * (1 - exp(-weight * V / saturation))
 * (sign of weight kept), so a flood of one minor signal can never exceed its
 * saturation, however many nodes or events carry it. Each (node, signal)
 * gets its proportional share of c. Shares are summed into two parts, fit
 * (who the customer is) and intent (what it does now), each clamped to
 * 0..100 and combined with configurable weights into the 0..100 score. The
 * per-signal share in score points is kept as a snapshot in the graph, so
 * the factor breakdown and `inspect` need no config.
 *
 * Tiers (A=0 .. D=3) use hysteresis of width `hysteresis` around each
 * cut-off: a better tier is entered only at score >= cut + hysteresis/2, the
 * current tier is held while score >= its cut - hysteresis/2, and on a fall
 * the graph lands in the best tier it still holds by that rule. A score
 * sitting on a cut-off therefore cannot flap.
 *
 * Bounds: signals whose decayed value falls under prune_floor are removed,
 * neighbours left without signals are removed, then at most signal_cap
 * signals per node and node_cap neighbours are kept (the least contributing
 * go first; ties go to the oldest, then by name, for determinism).
 */
#ifndef DS_GRAPH_H
#define DS_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "sstr.h"

enum graph_node_type {
    GRAPH_NODE_CUSTOMER = 0,
    /* Same order as enum entity_type, shifted by one. */
    GRAPH_NODE_COMPANY,
    GRAPH_NODE_SUPPLIER,
    GRAPH_NODE_COMPETITOR,
    GRAPH_NODE_POLICY,
    GRAPH_NODE_CONTACT,
    GRAPH_NODE_DEVICE,
    GRAPH_NODE_TENDER,
    GRAPH_NODE_TYPE_COUNT
};

enum graph_part { GRAPH_PART_FIT = 0, GRAPH_PART_INTENT, GRAPH_PART_COUNT };

enum graph_tier {
    GRAPH_TIER_A = 0,
    GRAPH_TIER_B,
    GRAPH_TIER_C,
    GRAPH_TIER_D,
    GRAPH_TIER_COUNT
};

/* One signal type. The layout is bound directly by the processor's config
 * table (a CFG_MAP name -> spec), hence the plain field types. */
struct graph_signal_spec {
    char *name;          /* "iot.vibration_anomaly.CRITICAL"; "a.*.c" matches any middle */
    double weight;       /* score points per unit of value while far from saturation; may be negative */
    int64_t half_life;   /* ms */
    double saturation;   /* most points the type can contribute (> 0) */
    int part;            /* enum graph_part */
};

struct hmap;

/* Scoring parameters; borrowed by the graph functions, never stored. */
struct graph_params {
    const struct graph_signal_spec *specs;
    size_t n_specs;
    /* specs by name (graph_params_index); NULL: found by a linear scan. A
     * decoded graph looks up each of its signals' specs again, and the scan
     * of ~30 names by strcmp was ~4 % of the processing thread. */
    struct hmap *spec_by_name;
    double edge_weight[GRAPH_NODE_TYPE_COUNT]; /* by neighbour type; [CUSTOMER] unused */
    double hop_decay;                          /* factor per hop, 0..1 */
    double part_weight[GRAPH_PART_COUNT];      /* fit, intent; sum > 0 */
    double cuts[GRAPH_TIER_D];                 /* A, B, C: descending */
    double hysteresis;                         /* score points, full band width */
    size_t node_cap;                           /* neighbours, customer excluded */
    size_t signal_cap;                         /* signals per node */
    double prune_floor;                        /* value units */
};

/* Strings are sstr (held in place, see sstr.h): encoding and freeing a
 * graph then touch a few contiguous arrays, not an allocation per string. */
struct graph_signal {
    struct sstr type;    /* "iot.vibration_anomaly.CRITICAL" */
    double value;        /* accumulated, decayed to ref */
    int64_t ref;         /* ms: the latest event time of this signal */
    uint64_t count;      /* events added, for inspect */
    /* Snapshot of the last graph_rescore(), at graph.now. */
    double value_now;
    /* Score points, may be negative: as decoded, or as settled by
     * graph_settle(); read it through graph_contribution(). */
    double contribution;
    /* Memo of the spec lookup (a string search over the config's specs was
     * ~5 % of the loop): the index `spec` (-1 none) is valid while the
     * params have the same spec table and count. Not stored. */
    int spec;
    const struct graph_signal_spec *spec_table;
    size_t spec_count;
};

struct graph_node {
    enum graph_node_type type;
    struct sstr id;
    struct sstr relation; /* what last linked the edge; absent on the customer */
    double edge_weight; /* of the edge to the customer; 1 on the customer */
    int64_t edge_time; /* ms: latest event that touched the edge */
    struct graph_signal *signals; /* owned */
    size_t n_signals, cap_signals;
};

struct graph {
    /* Always 0: lead_rating keeps other objects beside graphs in its state,
     * each starting with an int naming its kind (lead_rating.h). */
    int obj_kind;
    int64_t now;       /* ms: latest event time seen (valid when has_now) */
    bool has_now;
    uint64_t n_events;
    int tier;          /* enum graph_tier */
    bool rated;        /* a rating has been emitted at least once */
    double score;      /* 0..100, at now */
    double fit;        /* 0..100 */
    double intent;     /* 0..100 */
    struct graph_node *nodes; /* owned; nodes[0] is the customer */
    size_t n_nodes, cap_nodes;
    /* Each signal's share of the score, kept per spec by the last rescore
     * until one is read: spec k's factor * value_now * propagation. A hot
     * graph holds ~150 signals and is rescored on every event, while
     * shares are read only by alerts, the caps, inspect and the encoding.
     * Only the specs some signal feeds have a factor (the others' is 0):
     * with up to 64 specs, share holds those of share_mask's bits, in spec
     * order - a new customer's graph feeds one or two of ~30 specs, and a
     * factor per spec was ~20 MB at 1M customers; with more specs, share
     * is indexed by spec (share_dense). */
    double *share;       /* owned, cap_share */
    uint64_t share_mask;
    uint32_t cap_share;
    uint32_t n_kept;     /* factors in share */
    uint32_t n_share;    /* the params' n_specs (the most seen) */
    bool share_dense;
    bool shares_pending; /* share[] holds them, not the signals */
    double share_hop;    /* the params' hop_decay */
};

/* A (node, signal) pair's part of the score; strings borrowed from the
 * graph, valid until it changes. */
struct graph_factor {
    const char *factor;    /* signal type */
    const char *node_type; /* graph_node_type_name() */
    const char *node_id;
    double contribution;   /* score points */
};

/* Returns a graph holding only the customer node, tier D. Aborts on OOM. */
struct graph *graph_new(const char *customer_id);
void graph_free(struct graph *g); /* accepts NULL */

const char *graph_node_type_name(enum graph_node_type t); /* "customer", ... */
enum graph_node_type graph_node_type_of_entity(enum entity_type e);
const char *graph_tier_name(int tier);                     /* "A".."D" */
const char *graph_part_name(int part);                     /* "fit", "intent" */

/* value decayed from from_ms to to_ms (either direction). */
double graph_decay(double value, int64_t from_ms, int64_t to_ms,
                   int64_t half_life_ms);
/* The bounded curve: sign(weight) * sat * (1 - exp(-|weight| * v / sat)). */
double graph_saturate(double weight, double saturation, double v);
/* Builds p->spec_by_name over p->specs (the first of equal names wins, as
 * in the scan); graph_params_unindex() frees it. Aborts on OOM. */
void graph_params_index(struct graph_params *p);
void graph_params_unindex(struct graph_params *p);
/* Exact name first, then "<first>.*.<last>" for three-part names; NULL if
 * the type is not configured. */
const struct graph_signal_spec *graph_spec_find(const struct graph_params *p,
                                                const char *type);

/* Advances now to t_ms if it is later. */
void graph_observe(struct graph *g, int64_t t_ms);

struct graph_node *graph_node_find(struct graph *g, enum graph_node_type t,
                                   const char *id);
/*
 * The node (type, id), created with an edge to the customer if missing; the
 * edge's relation, weight (from p) and time (the latest) are updated. With
 * GRAPH_NODE_CUSTOMER, or an id equal to the customer's, returns the
 * customer node unchanged. The pointer is valid until the next call that
 * adds or removes nodes.
 */
struct graph_node *graph_link(struct graph *g, const struct graph_params *p,
                              enum graph_node_type t, const char *id,
                              const char *relation, int64_t t_ms);
/* Removes a neighbour and its signals: 0, or -1 when absent (the customer
 * node is never removed). */
int graph_unlink(struct graph *g, enum graph_node_type t, const char *id);

/* Adds `amount` of signal `type` at t_ms to node n (O(1), order
 * independent). 0, or -1 when the type has no spec (nothing recorded). */
int graph_signal_add(struct graph *g, const struct graph_params *p,
                     struct graph_node *n, const char *type, double amount,
                     int64_t t_ms);

/* Asks the CPU for the node array (depth 0) or the nodes' signal arrays
 * (depth 1, the node array being in cache by then): graph_encode's and
 * graph_free's cold reads. Reads g, writes nothing. */
void graph_prefetch(const struct graph *g, int depth);

/* Recomputes the snapshots, fit, intent and score at g->now. */
void graph_rescore(struct graph *g, const struct graph_params *p);
/* Prunes, rescore, enforces the caps (rescoring after any eviction). */
void graph_maintain(struct graph *g, const struct graph_params *p);

/* The tier for `score` when the graph currently is in `current`. */
int graph_tier_next(const struct graph_params *p, int current, double score);

/* Signal j of node i's share of the score in points, as of the last
 * graph_maintain() or graph_rescore() (a signal added since reads 0). */
double graph_contribution(const struct graph *g, size_t i, size_t j);
/* Writes every signal's share into its `contribution` (for code that
 * walks the signals itself); idempotent. */
void graph_settle(struct graph *g);

/* Signals in the graph (all nodes). */
size_t graph_signal_count(const struct graph *g);
/* Up to `max` non-zero factors by |contribution| descending (ties by
 * factor, node type, node id); returns how many were written. */
size_t graph_factors(const struct graph *g, struct graph_factor *out,
                     size_t max);

/* Versioned binary encoding (first byte: format version). */
void graph_encode(const struct graph *g, struct buf *out);
/* 0 and *out, or -1 on an unknown version, truncated or corrupt bytes. */
int graph_decode(const uint8_t *data, size_t len, struct graph **out);

#endif
