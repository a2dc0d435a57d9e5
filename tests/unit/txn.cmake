ds_unit_test(test_txn SOURCES daemon/txn.c daemon/kafka.c daemon/kafka_producer.c
  daemon/kafka_admin.c daemon/prefetch.c daemon/log.c daemon/tmpdir.c)
