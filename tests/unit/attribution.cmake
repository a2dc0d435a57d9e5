# attribution: the periods and the DiD estimator on their own (hand-computed
# panels, coverage over generated ones), then the processor through the
# harness: panels and the signal hub behind the repartition topic.
ds_unit_test(test_attribution_did SOURCES processors/attribution/attribution_did.c
  processors/attribution/attribution_period.c processors/attribution/attribution_sim.c)
ds_unit_test(test_attribution SOURCES processors/attribution/*.c tests/unit/harness.c)
# Its records through the Avro adapter: the new field types on both
# decoding paths, and the report written and read back.
ds_unit_test(test_attribution_codec SOURCES daemon/codec*.c daemon/arena.c
  daemon/event.c daemon/records.c daemon/alert.c daemon/buf.c daemon/log.c)
