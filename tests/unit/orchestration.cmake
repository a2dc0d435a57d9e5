# Orchestration (issue 24): triggers, de-duplication, updates, OVERDUE by
# stream time, restart and config checks through the in-memory harness.
ds_unit_test(test_orchestration SOURCES processors/orchestration/*.c
  daemon/matcher.c daemon/utf8.c tests/unit/harness.c)
