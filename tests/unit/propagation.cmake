# propagation: the entity index keyed by entity, reached through the
# repartition topic, with the harness handing repartitioned records back.
ds_unit_test(test_propagation SOURCES processors/propagation/*.c
  processors/shared/statecodec.c processors/shared/repmarks.c
  processors/shared/entity_signal.c tests/unit/harness.c)
