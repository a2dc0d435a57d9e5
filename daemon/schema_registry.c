/*
 * schema_registry.c - GET /schemas/ids/{id} over libcurl (schema_registry.h).
 *
 * The answer is {"schema": "<the schema as a JSON string>", ...}; a 404
 * (error_code 40403) means the registry has no such id. One easy handle
 * is reused for every request, so a registry reached once keeps its
 * connection. Ids are few (one per schema version), so the known and the
 * failed ones are plain arrays.
 */
#include "schema_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "now.h"

#define SR_MAX_BODY (1u << 20)    /* a schema is at most 1 MiB */
#define SR_RETRY_AFTER_MS 60000   /* a failed id is not asked about again sooner */

struct sr_known {
    int32_t id;
    char *text; /* owned: the schema */
};

struct sr_failed {
    int32_t id;
    int64_t at_ms; /* monotonic */
};

struct schema_registry {
    CURL *curl;
    char *url; /* without a trailing '/' */
    int64_t timeout_ms;
    struct sr_known *known;
    size_t n_known;
    struct sr_failed *failed;
    size_t n_failed;
    uint64_t requests;
};

struct body {
    char *data;
    size_t len;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t add = size * n;
    if (b->len + add > SR_MAX_BODY) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

int schema_registry_new(const char *url, int64_t timeout_ms,
                        struct schema_registry **out, char *err,
                        size_t errlen)
{
    static bool global_done;
    if (!global_done) { /* once per process, before any thread uses curl */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = true;
    }
    struct schema_registry *r = calloc(1, sizeof(*r));
    if (!r || !(r->url = strdup(url)) || !(r->curl = curl_easy_init())) {
        snprintf(err, errlen, "schema registry: out of memory");
        schema_registry_free(r);
        return -1;
    }
    size_t n = strlen(r->url);
    while (n && r->url[n - 1] == '/')
        r->url[--n] = '\0';
    r->timeout_ms = timeout_ms;
    *out = r;
    return 0;
}

void schema_registry_free(struct schema_registry *r)
{
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    for (size_t i = 0; i < r->n_known; i++)
        free(r->known[i].text);
    free(r->known);
    free(r->failed);
    free(r->url);
    free(r);
}

int64_t schema_registry_frame_id(const void *val, size_t vlen)
{
    const unsigned char *v = val;
    if (!v || vlen < 5 || v[0] != 0)
        return -1;
    return (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
                     (uint32_t)v[3] << 8 | (uint32_t)v[4]);
}

uint64_t schema_registry_requests(const struct schema_registry *r)
{
    return r->requests;
}

/* One GET of the id's schema. 0 and *text (owned), 1 for a 404, or -1
 * with err for anything else (retryable). */
static int fetch(struct schema_registry *r, int32_t id, char **text,
                 char *err, size_t errlen)
{
    char url[2048];
    struct body b = {0};
    long status = 0;
    int rc = -1;
    json_t *doc = NULL;
    snprintf(url, sizeof(url), "%s/schemas/ids/%d", r->url, (int)id);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 1L);
    struct curl_slist *h = curl_slist_append(
        NULL, "Accept: application/vnd.schemaregistry.v1+json, "
              "application/json");
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
    r->requests++;
    CURLcode cc = curl_easy_perform(r->curl);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "GET %s: %s", url,
                 b.too_big ? "answer over 1 MiB" : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 404) {
        snprintf(err, errlen, "GET %s: 404, the registry has no schema %d",
                 url, (int)id);
        rc = 1;
        goto out;
    }
    if (status != 200) {
        snprintf(err, errlen, "GET %s: HTTP %ld", url, status);
        goto out;
    }
    json_error_t je;
    doc = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    const char *s = json_string_value(json_object_get(doc, "schema"));
    if (!s) {
        snprintf(err, errlen, "GET %s: no \"schema\" string in the answer",
                 url);
        rc = 1; /* asking again will not change it */
        goto out;
    }
    if (!(*text = strdup(s))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    free(b.data);
    return rc;
}

int schema_registry_register(struct schema_registry *r, const char *subject,
                             const char *text, int32_t *id, char *err,
                             size_t errlen)
{
    char url[2048];
    struct body b = {0};
    long status = 0;
    int rc = -1;
    json_t *doc = NULL;
    char *esc = curl_easy_escape(r->curl, subject, 0);
    json_t *req = json_pack("{s:s}", "schema", text);
    char *payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (!esc || !payload) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(url, sizeof(url), "%s/subjects/%s/versions", r->url, esc);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = curl_slist_append(
        NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
    r->requests++;
    CURLcode cc = curl_easy_perform(r->curl);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "POST %s: %s", url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    json_error_t je;
    doc = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    json_t *jid = json_object_get(doc, "id");
    if (status != 200 || !json_is_integer(jid) || json_integer_value(jid) < 0 ||
        json_integer_value(jid) > INT32_MAX) {
        const char *m = json_string_value(json_object_get(doc, "message"));
        snprintf(err, errlen, "POST %s: HTTP %ld%s%s", url, status,
                 m ? ": " : "", m ? m : "");
        goto out;
    }
    *id = (int32_t)json_integer_value(jid);
    rc = 0;
out:
    json_decref(doc);
    json_decref(req);
    free(payload);
    curl_free(esc);
    free(b.data);
    return rc;
}

static struct sr_failed *failed_of(struct schema_registry *r, int32_t id)
{
    for (size_t i = 0; i < r->n_failed; i++)
        if (r->failed[i].id == id)
            return &r->failed[i];
    return NULL;
}

static void note_failed(struct schema_registry *r, int32_t id)
{
    struct sr_failed *f = failed_of(r, id);
    if (!f) {
        struct sr_failed *v =
            realloc(r->failed, (r->n_failed + 1) * sizeof(*v));
        if (!v)
            return;
        r->failed = v;
        f = &r->failed[r->n_failed++];
        f->id = id;
    }
    f->at_ms = now_mono_ms();
}

int schema_registry_teach(struct schema_registry *r, struct codec *codec,
                          int32_t id, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->n_known; i++)
        if (r->known[i].id == id)
            return codec_add_writer(codec, id, r->known[i].text,
                                    strlen(r->known[i].text), err, errlen);
    struct sr_failed *f = failed_of(r, id);
    if (f && now_mono_ms() - f->at_ms < SR_RETRY_AFTER_MS) {
        snprintf(err, errlen, "schema id %d: the registry failed on it "
                 "less than %d s ago", (int)id, SR_RETRY_AFTER_MS / 1000);
        return -1;
    }
    char *text = NULL;
    int rc = fetch(r, id, &text, err, errlen);
    if (rc < 0) /* not a definite answer: once more */
        rc = fetch(r, id, &text, err, errlen);
    if (rc != 0) {
        note_failed(r, id);
        return -1;
    }
    char cerr[512];
    if (codec_add_writer(codec, id, text, strlen(text), cerr,
                         sizeof(cerr)) != 0) {
        snprintf(err, errlen, "schema id %d from the registry: %s", (int)id,
                 cerr);
        note_failed(r, id);
        free(text);
        return -1;
    }
    struct sr_known *v = realloc(r->known, (r->n_known + 1) * sizeof(*v));
    if (!v) {
        free(text); /* the codec has it; a reload would fetch it again */
        return 0;
    }
    r->known = v;
    r->known[r->n_known++] = (struct sr_known){.id = id, .text = text};
    LOG_INF("codec", "schema id %d learnt from %s", (int)id, r->url);
    return 0;
}
