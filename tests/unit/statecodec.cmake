# The processors' shared state readers (processors/shared/statecodec.c).
ds_unit_test(test_statecodec SOURCES processors/shared/statecodec.c daemon/buf.c)
# The marks that apply each repartition record once (processors/shared/repmarks.c).
ds_unit_test(test_repmarks SOURCES processors/shared/repmarks.c
  processors/shared/statecodec.c daemon/buf.c)
# The per-partition stream time kept in state (processors/shared/streamtime.c).
ds_unit_test(test_streamtime SOURCES processors/shared/streamtime.c
  processors/shared/statecodec.c daemon/ctx.c daemon/store.c daemon/store_seal.c daemon/keyfilter.c
  daemon/hmap.c daemon/state.c daemon/buf.c daemon/log.c daemon/alert.c
  daemon/event.c daemon/records.c daemon/repartition.c daemon/metrics.c
  daemon/arena.c)
