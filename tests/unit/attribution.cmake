# attribution: the periods and the DiD estimator on their own (hand-computed
# panels, coverage over generated ones), then the processor through the
# harness: panels and the signal hub behind the repartition topic.
ds_unit_test(test_attribution_did SOURCES processors/attribution/attribution_did.c
  processors/attribution/attribution_period.c)
ds_unit_test(test_attribution SOURCES processors/attribution/*.c tests/unit/harness.c)
