# Action-unit verification (issue 5): the confusable map on its own, then the
# processor through the in-memory harness.
ds_unit_test(test_confusables SOURCES processors/action_units/confusables.c daemon/utf8.c daemon/buf.c)
# Keywords, evidence and stage claims; then the deadline, the timer and the
# partition's ownership, restart and the state formats. Both share
# action_units_fixture.c.
ds_unit_test(test_action_units_evidence SOURCES processors/action_units/*.c
  daemon/matcher.c daemon/utf8.c tests/unit/harness.c tests/unit/action_units_fixture.c
  daemon/ctx.c daemon/store.c daemon/store_seal.c daemon/keyfilter.c daemon/hmap.c daemon/state.c
  daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
ds_unit_test(test_action_units_timer SOURCES processors/action_units/*.c
  daemon/matcher.c daemon/utf8.c tests/unit/harness.c tests/unit/action_units_fixture.c
  daemon/ctx.c daemon/store.c daemon/store_seal.c daemon/keyfilter.c daemon/hmap.c daemon/state.c
  daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
# Stage claims judged in stream time with evidence_grace, and the
# follow-up that resolves an alert (issue 19).
ds_unit_test(test_action_units_grace SOURCES processors/action_units/*.c
  daemon/matcher.c daemon/utf8.c tests/unit/harness.c tests/unit/action_units_fixture.c
  daemon/ctx.c daemon/store.c daemon/store_seal.c daemon/keyfilter.c daemon/hmap.c daemon/state.c
  daemon/config*.c daemon/jsonw.c daemon/buf.c daemon/event.c daemon/records.c
  daemon/alert.c daemon/log.c)
