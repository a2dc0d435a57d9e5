# Action-unit verification (issue 5): the confusable map on its own, then the
# processor through the in-memory harness.
ds_unit_test(test_confusables SOURCES processors/action_units/confusables.c daemon/utf8.c daemon/buf.c)
ds_unit_test(test_action_units SOURCES processors/action_units/*.c
  daemon/matcher.c daemon/utf8.c tests/unit/harness.c daemon/ctx.c
  daemon/store.c daemon/keyfilter.c daemon/hmap.c daemon/state.c daemon/config*.c daemon/jsonw.c
  daemon/buf.c daemon/event.c daemon/records.c daemon/alert.c daemon/log.c)
