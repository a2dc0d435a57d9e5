ds_unit_test(test_changelog SOURCES daemon/changelog.c daemon/restore.c
  daemon/standby.c daemon/kafka.c daemon/kafka_producer.c daemon/kafka_admin.c
  daemon/prefetch.c daemon/state.c daemon/log.c daemon/tmpdir.c)
