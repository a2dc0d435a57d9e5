# lead_rating: the pure graph/scoring module, then the processor through the
# in-memory harness.
ds_unit_test(test_sstr SOURCES daemon/sstr.c)
ds_unit_test(test_graph SOURCES processors/lead_rating/graph.c daemon/sstr.c daemon/buf.c daemon/hmap.c)
ds_unit_test(test_lead_rating SOURCES processors/lead_rating/*.c
  processors/shared/statecodec.c processors/shared/repmarks.c
  processors/shared/entity_signal.c
  daemon/sstr.c tests/unit/harness.c daemon/ctx.c daemon/store.c daemon/store_seal.c
  daemon/keyfilter.c daemon/hmap.c
  daemon/state.c daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
# Issue 25: ERP order rates, and propagated signals turned into graph
# signals, through the same harness.
ds_unit_test(test_lead_rating_ext SOURCES processors/lead_rating/*.c
  processors/shared/statecodec.c processors/shared/repmarks.c
  processors/shared/entity_signal.c
  daemon/sstr.c tests/unit/harness.c daemon/ctx.c daemon/store.c daemon/store_seal.c
  daemon/keyfilter.c daemon/hmap.c
  daemon/state.c daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
# Issue 25: the service-ticket template (tickets per device line, open
# opportunities per line, one coaching alert per line and window).
ds_unit_test(test_lead_rating_service SOURCES processors/lead_rating/*.c
  processors/shared/statecodec.c processors/shared/repmarks.c
  processors/shared/entity_signal.c
  daemon/sstr.c tests/unit/harness.c daemon/ctx.c daemon/store.c daemon/store_seal.c
  daemon/keyfilter.c daemon/hmap.c
  daemon/state.c daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
ds_unit_test(test_strjoin SOURCES)
