# The consumer's prefetch budget (issue 23): the plan of librdkafka
# properties, the pace of fetcher wakes and the waker thread, no broker.
ds_unit_test(test_prefetch SOURCES daemon/prefetch.c)
