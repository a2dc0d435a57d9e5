/*
 * kafka_conf.h - what the librdkafka adapter's files share (kafka.c, the
 * consumer; kafka_producer.c; kafka_admin.c). Not for the rest of the
 * daemon: librdkafka's types stay behind kafka.h.
 */
#ifndef DS_KAFKA_CONF_H
#define DS_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* One property; a secret's value never appears in err. 0, or -1. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                   bool secret, char *err, size_t errlen);
/* bootstrap.servers, then the defaults, then the operator's properties, so
 * theirs win; the log and error callbacks set. NULL with err. */
rd_kafka_conf_t *kafka_conf_build(const char *brokers,
                                  const char *const defaults[][2],
                                  const struct cfg_strmap *props, char *err,
                                  size_t errlen);
/* librdkafka's log lines into ours, rate-limited. */
void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                  const char *buf);

#endif
