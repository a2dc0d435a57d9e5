# kafka_consumer_behind (issue 19, lag-aware waiting) against librdkafka's
# mock cluster.
ds_unit_test(test_kafka_lag SOURCES daemon/kafka.c daemon/kafka_producer.c
  daemon/kafka_admin.c daemon/prefetch.c daemon/log.c)
