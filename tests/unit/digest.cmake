# The manager's daily digest (issue 24): local days through ICU (a DST
# change), the ranking rule, the rep's history, and a team's days through
# the harness (one digest per team and day, late alerts, copies, restart).
ds_unit_test(test_digest SOURCES processors/digest/*.c tests/unit/harness.c)
