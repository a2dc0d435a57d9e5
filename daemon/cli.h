/*
 * cli.h - the subcommands of the `dealstream` binary and what they share.
 *
 * Exit codes (the contract; README.md): 0 ok, 64 usage, 78 configuration, 1 runtime.
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"
#include "kafka.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 64, EXIT_CONFIG = 78 };

/* Options every config-reading subcommand takes. */
struct cli_common {
    const char *config_path;
    const char **sets;
    size_t n_sets;
};

extern volatile sig_atomic_t cli_stop;
extern volatile sig_atomic_t cli_reload; /* set by SIGHUP */
void cli_install_signals(void);

/* Loads the config with the registry's processors; prints every error and
 * returns EXIT_CONFIG, or 0 with *cfg set and logging configured. */
int cli_load_config(const struct cli_common *c, struct config **cfg);

/* The bootstrap servers to use. For "embedded", starts an in-process dev
 * broker with every configured topic (*mock then owns it) unless
 * allow_embedded is false, in which case it explains and fails. */
int cli_brokers(const struct config *cfg, bool allow_embedded,
                struct kafka_mock **mock, const char **brokers);

/* Every topic the config names - inputs, outputs, the DLQ - the
 * repartition topic of each enabled processor that has one, and the state
 * changelog (state.changelog; changelog[0] is NUL without one). */
#define CLI_MAX_REPARTITION 16
#define CLI_MAX_EXTRA 32 /* processors' own output topics (output_topics) */
/* The topics a config uses: the records table's rows first, in order, then
 * n_extra output topics of enabled processors, then the repartition
 * topics, then the changelog (if any). */
struct cli_topics {
    const char *name[TOPIC_COUNT + CLI_MAX_EXTRA + CLI_MAX_REPARTITION + 1];
    size_t n;
    size_t n_extra;
    char repartition[CLI_MAX_REPARTITION][256]; /* storage for their names */
    char changelog[256];
};
void cli_config_topics(const struct config *cfg, struct cli_topics *out);

/* A whole decimal number within [min, max] for a command-line option;
 * 0, or -1 after printing what was wrong. */
int cli_parse_long(const char *opt, const char *s, long min, long max,
                   long *out);

int cmd_run(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_config_docs(int argc, char **argv);
int cmd_topics(int argc, char **argv);
int cmd_dev_kafka(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_consume(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_create_topics(int argc, char **argv);
int cmd_simulate(int argc, char **argv);

/* Produces JSON lines to `topic`; used by `produce` and the demo. Returns
 * the number of lines refused (each reported with its line number) or -1
 * on a fatal error. */
int cli_produce_lines(const struct config *cfg, const char *brokers,
                      const char *topic, FILE *in, const char *in_name,
                      size_t *produced);
/* The same, framing every record with writer id frame_id instead of the
 * config's (one a schema registry gave; -1: the config's). */
int cli_produce_lines_as(const struct config *cfg, const char *brokers,
                         const char *topic, FILE *in, const char *in_name,
                         size_t *produced, int64_t frame_id);

#endif
