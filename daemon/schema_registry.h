/*
 * schema_registry.h - writer schemas by id from a schema registry that
 * speaks the Confluent REST API (GET /schemas/ids/{id}), for records
 * framed with an id processor.yaml does not list. The adapter around
 * libcurl, the only file that includes its header.
 *
 * Used on the processing thread, only when a record names an unknown id:
 * each id is fetched once (its text is kept, so a reload's new codec
 * learns it again without a request); an id the registry does not have,
 * or a registry that does not answer, is not asked about again for a
 * minute, and those records go to the DLQ as unknown_schema_id.
 */
#ifndef DS_SCHEMA_REGISTRY_H
#define DS_SCHEMA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

struct schema_registry;

/* url: the registry's base ("http://registry:8081"); timeout_ms bounds
 * one request. 0 and *out, or -1 with err. */
int schema_registry_new(const char *url, int64_t timeout_ms,
                        struct schema_registry **out, char *err,
                        size_t errlen);
void schema_registry_free(struct schema_registry *r); /* accepts NULL */

/* The writer id a framed value names, or -1 when it is not framed. */
int64_t schema_registry_frame_id(const void *val, size_t vlen);

/* Teaches codec the writer schema of id: from what was fetched before,
 * else from the registry (GET, retried once on a failure that is not a
 * 404). 0 when codec knows it now, -1 (reason in err) when not. */
int schema_registry_teach(struct schema_registry *r, struct codec *codec,
                          int32_t id, char *err, size_t errlen);

/* Registers schema `text` under `subject` (POST
 * /subjects/{subject}/versions); the registry answers with its id, the
 * same one for a schema it has already. 0 and *id, or -1 with err. */
int schema_registry_register(struct schema_registry *r, const char *subject,
                             const char *text, int32_t *id, char *err,
                             size_t errlen);

/* Requests made so far (for the tests and the log). */
uint64_t schema_registry_requests(const struct schema_registry *r);

#endif
