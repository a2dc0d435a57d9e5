/*
 * action_units_evidence.c - which documents evidence which action units
 * of an opportunity's stages, judged when asked so that a competitor
 * linked later can un-support a stage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_units.h"


static bool au_comp_matches(const struct au_competitor *c, const char *entry)
{
    return strcasecmp(c->id, entry) == 0 ||
           (c->name && strcasecmp(c->name, entry) == 0);
}

/* Scenarios of `d` that no competitor linked to the customer covers. */
int64_t au_doc_uncovered(const struct au_inst *inst,
                         const struct au_customer *cust,
                         const struct au_doc *d)
{
    const struct au_ind_rt *ind = au_industry_find(inst, d->industry);
    if (!ind)
        return 0;
    int64_t n = 0;
    const struct au_scenario *sc = ind->cfg->scenarios.items;
    for (size_t i = 0; i < d->scenarios.n; i++) {
        const struct au_scenario *s = NULL;
        for (size_t k = 0; k < ind->cfg->scenarios.n && !s; k++)
            if (strcmp(sc[k].name, d->scenarios.v[i]) == 0)
                s = &sc[k];
        if (!s)
            continue; /* renamed or removed from the library */
        bool covered = false;
        for (size_t c = 0; c < cust->n_comp && !covered; c++)
            for (size_t e = 0; e < s->covered_by.n && !covered; e++)
                covered = au_comp_matches(&cust->comp[c], s->covered_by.v[e]);
        if (!covered)
            n++;
    }
    return n;
}


static bool au_role_ok(const struct au_unit *u, const char *role)
{
    if (u->author_roles.n == 0)
        return true;
    for (size_t i = 0; role && i < u->author_roles.n; i++)
        if (strcasecmp(u->author_roles.v[i], role) == 0)
            return true;
    return false;
}

/* d, with `unc` of its scenarios uncovered, as evidence for unit u. */
static void au_eval_doc(const struct au_unit *u, const struct au_doc *d,
                        int64_t unc, struct au_eval *e)
{
    if (u->doc_type != AU_DOC_ANY && d->doc_type != u->doc_type)
        return;
    if (!au_role_ok(u, d->author_role))
        return;
    if (u->keywords.n && !au_strvec_has(&d->kw_units, u->name))
        return;
    if (unc >= u->min_scenarios) {
        e->have++;
    } else if (e->n_near < AU_MAX_NEAR) {
        e->near[e->n_near].doc_id = d->document_id;
        e->near[e->n_near].count = unc;
        e->n_near++;
    }
}

static bool au_docs_have(const struct au_doc *docs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(docs[i].document_id, id) == 0)
            return true;
    return false;
}

/* `opp` NULL: the customer's documents only. Free with au_evidence_free. */
void au_evidence_build(const struct au_inst *inst,
                       const struct au_customer *cust,
                       const struct au_opp *opp,
                       struct au_evidence *ev)
{
    size_t n_opp = opp ? opp->n_docs : 0;
    ev->v = au_xalloc((n_opp + cust->n_docs) * sizeof(*ev->v));
    ev->n = 0;
    for (size_t i = 0; i < n_opp; i++)
        ev->v[ev->n++] = (struct au_evdoc){&opp->docs[i], 0};
    for (size_t i = 0; i < cust->n_docs; i++)
        if (!opp || !au_docs_have(opp->docs, opp->n_docs,
                                  cust->docs[i].document_id))
            ev->v[ev->n++] = (struct au_evdoc){&cust->docs[i], 0};
    for (size_t i = 0; i < ev->n; i++)
        ev->v[i].uncovered = au_doc_uncovered(inst, cust, ev->v[i].d);
}

void au_evidence_free(struct au_evidence *ev)
{
    free(ev->v);
    ev->v = NULL;
    ev->n = 0;
}

/* Evidence for unit u among `docs`. */
void au_eval_unit(const struct au_unit *u,
                  const struct au_evidence *docs, struct au_eval *e)
{
    memset(e, 0, sizeof(*e));
    e->need = u->min_docs;
    for (size_t i = 0; i < docs->n; i++)
        au_eval_doc(u, docs->v[i].d, docs->v[i].uncovered, e);
}

/*
 * What the stage `stage` lacks, appended to `ev` as readable lines
 * (unit progress, then the documents that fell short). Adds to *have and
 * *need; returns the number of units not done.
 */
size_t au_stage_gaps(const struct au_industry *ind, const char *stage,
                     const struct au_evidence *docs,
                     const struct au_templates *tpl, bool zh,
                     struct au_strvec *ev, int64_t *have, int64_t *need)
{
    size_t missing = 0;
    const struct au_unit *u = ind->units.items;
    for (size_t i = 0; i < ind->units.n; i++) {
        if (strcmp(u[i].stage, stage) != 0)
            continue;
        struct au_eval e;
        au_eval_unit(&u[i], docs, &e);
        *have += e.have < e.need ? e.have : e.need;
        *need += e.need;
        if (e.have >= e.need)
            continue;
        missing++;
        if (!ev)
            continue;
        const char *label = zh ? u[i].label_zh : u[i].label_en;
        if (!label || !*label)
            label = u[i].name;
        char hs[24], ns[24], ms[24];
        snprintf(hs, sizeof(hs), "%lld", (long long)e.have);
        snprintf(ns, sizeof(ns), "%lld", (long long)e.need);
        snprintf(ms, sizeof(ms), "%lld", (long long)u[i].min_scenarios);
        const struct au_var pv[] = {
            {"unit", label}, {"stage", stage}, {"have", hs}, {"need", ns}};
        char **slot = au_push(&ev->v, &ev->n, sizeof(*ev->v));
        *slot = au_render_dup(tpl->unit_progress, pv, CFG_COUNT(pv));
        for (size_t k = 0; k < e.n_near; k++) {
            char cs[24];
            snprintf(cs, sizeof(cs), "%lld", (long long)e.near[k].count);
            const struct au_var dv[] = {{"document", e.near[k].doc_id},
                                        {"unit", label},
                                        {"count", cs},
                                        {"need", ms}};
            slot = au_push(&ev->v, &ev->n, sizeof(*ev->v));
            *slot = au_render_dup(tpl->doc_short, dv, CFG_COUNT(dv));
        }
    }
    return missing;
}
