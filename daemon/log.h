/*
 * log.h - leveled, subsystem-tagged logging, text or JSON lines on stderr.
 *
 * The macros test the level before any argument is evaluated, so a disabled
 * debug line costs one comparison. LOG_RL() rate-limits per call site: bad
 * records can arrive by the million and must not flood the journal.
 * Never call from a signal handler.
 */
#ifndef DS_LOG_H
#define DS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

extern enum log_level log_threshold;

void log_setup(enum log_level level, enum log_format format);
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The ids a line is about, so a JSON log can be searched by them: with
 * log.format json they are fields of their own next to "msg"
 * ({"customer_id":"c1","topic":"t","partition":3,"offset":42}); the text
 * format leaves them to the message. partition is written when topic is
 * set, offset when topic is set and offset >= 0.
 */
struct log_ids {
    const char *customer_id; /* NULL: none */
    const char *topic;       /* NULL: no record or partition */
    int32_t partition;
    int64_t offset; /* -1: none (a partition, not a record) */
};

void log_write_ids(enum log_level level, const char *subsys,
                   const struct log_ids *ids, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Per call-site limiter: at most `burst` lines per 10 s window, then one
 * "suppressed N" note when the window rolls over. */
struct log_ratelimit {
    int64_t window_start; /* ms, monotonic */
    uint32_t count;
    uint32_t suppressed;
};
bool log_ratelimit_allow(struct log_ratelimit *rl, uint32_t burst,
                         uint32_t *suppressed_out);

#define LOG(level, subsys, ...)                                               \
    do {                                                                      \
        if ((level) <= log_threshold)                                         \
            log_write((level), (subsys), __VA_ARGS__);                        \
    } while (0)

#define LOG_ERR(subsys, ...) LOG(LOG_ERROR, subsys, __VA_ARGS__)
#define LOG_WRN(subsys, ...) LOG(LOG_WARN, subsys, __VA_ARGS__)
#define LOG_INF(subsys, ...) LOG(LOG_INFO, subsys, __VA_ARGS__)
#define LOG_DBG(subsys, ...) LOG(LOG_DEBUG, subsys, __VA_ARGS__)

/* LOG() with ids (a const struct log_ids *). */
#define LOG_IDS(level, subsys, ids, ...)                                      \
    do {                                                                      \
        if ((level) <= log_threshold)                                         \
            log_write_ids((level), (subsys), (ids), __VA_ARGS__);             \
    } while (0)

/* Rate-limited to 20 lines per 10 s per call site. */
#define LOG_RL(level, subsys, ...)                                            \
    do {                                                                      \
        static struct log_ratelimit rl_;                                      \
        uint32_t sup_;                                                        \
        if ((level) <= log_threshold && log_ratelimit_allow(&rl_, 20, &sup_)) { \
            if (sup_)                                                         \
                log_write((level), (subsys), "(%u similar lines suppressed)", \
                          sup_);                                              \
            log_write((level), (subsys), __VA_ARGS__);                        \
        }                                                                     \
    } while (0)

/* LOG_RL() with ids. */
#define LOG_RL_IDS(level, subsys, ids, ...)                                   \
    do {                                                                      \
        static struct log_ratelimit rl_;                                      \
        uint32_t sup_;                                                        \
        if ((level) <= log_threshold && log_ratelimit_allow(&rl_, 20, &sup_)) { \
            if (sup_)                                                         \
                log_write((level), (subsys), "(%u similar lines suppressed)", \
                          sup_);                                              \
            log_write_ids((level), (subsys), (ids), __VA_ARGS__);             \
        }                                                                     \
    } while (0)

#endif
