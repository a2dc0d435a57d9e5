ds_unit_test(test_txn SOURCES daemon/txn.c daemon/kafka.c daemon/prefetch.c daemon/log.c
  daemon/tmpdir.c)
