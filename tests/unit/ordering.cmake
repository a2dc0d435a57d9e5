# Event-time order across co-partitioned topics (issue 19): the chooser on
# its own, no broker.
ds_unit_test(test_ordering SOURCES daemon/ordering.c)
