/*
 * fuzz_config.c - libFuzzer target for the config loader.
 *
 * Each input is written to a temporary file and loaded with a plugin that
 * uses every collection type, so the parser, the alias expansion limit, the
 * binder and the error paths all see hostile YAML. Inputs that start with
 * lines "#set KEY=VALUE" also drive the --set path. Success or failure does
 * not matter; crashes, leaks and sanitizer reports do.
 *
 * Not built by default. Build and run with clang:
 *
 *   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *       -Idaemon tests/fuzz/fuzz_config.c daemon/config*.c \
 *       $(pkg-config --cflags --libs yaml-0.1) -lm -o fuzz_config
 *   mkdir -p corpus && cp processor.yaml corpus/ && ./fuzz_config corpus
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

struct fz_item {
    char *name;
    int64_t n;
    int64_t ms;
    struct cfg_strlist words;
};

struct fz_cfg {
    struct cfg_array items; /* CFG_MAP of struct fz_item */
    struct cfg_array list;  /* CFG_LIST of struct fz_item */
    struct cfg_strmap labels;
    struct fz_item one;     /* CFG_SECTION */
    double ratio;
    int64_t size;
    int mode;
    bool flag;
};

static const char *const fz_opts[] = {"a", "b", NULL};

static const struct config_key fz_item_keys[] = {
    CFG_KEY_RANGE(struct fz_item, n, "n", CFG_INT, "1", 0, 10, "n"),
    CFG_KEY(struct fz_item, ms, "ms", CFG_DURATION, "1s", "ms"),
    CFG_KEY(struct fz_item, words, "words", CFG_STRLIST, "[x, y]", "words"),
};
static const struct config_table fz_item_table = {
    .name = "item",
    .keys = fz_item_keys,
    .n_keys = CFG_COUNT(fz_item_keys),
    .elem_size = sizeof(struct fz_item),
    .name_offset = offsetof(struct fz_item, name),
};

static const struct config_key fz_keys[] = {
    {.name = "items", .type = CFG_MAP, .offset = offsetof(struct fz_cfg, items),
     .def = "{k: {n: 2}}", .sub = &fz_item_table, .desc = "items"},
    {.name = "list", .type = CFG_LIST, .offset = offsetof(struct fz_cfg, list),
     .def = "[{n: 3}]", .sub = &fz_item_table, .bounded = true, .min = 0,
     .max = 50, .desc = "list"},
    CFG_KEY(struct fz_cfg, labels, "labels", CFG_STRMAP, "{a: b}", "labels"),
    CFG_KEY_SUB(struct fz_cfg, one, "one", CFG_SECTION, &fz_item_table, "one"),
    CFG_KEY_RANGE(struct fz_cfg, ratio, "ratio", CFG_DOUBLE, "0.5", 0, 1, "r"),
    CFG_KEY(struct fz_cfg, size, "size", CFG_SIZE, "1MiB", "size"),
    CFG_KEY_ENUM(struct fz_cfg, mode, "mode", "a", fz_opts, "mode"),
    CFG_KEY(struct fz_cfg, flag, "flag", CFG_BOOL, "on", "flag"),
};
static const struct config_table fz_table = {
    .name = "fz",
    .keys = fz_keys,
    .n_keys = CFG_COUNT(fz_keys),
    .elem_size = sizeof(struct fz_cfg),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct config_plugin plugins[] = {{"fz", &fz_table}};
    char path[] = "/tmp/fuzz_config.XXXXXX";
    const char *sets[4];
    char *copy = NULL;
    size_t n_sets = 0;

    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        close(fd);
        unlink(path);
        return 0;
    }
    fwrite(data, 1, size, fp);
    fclose(fp);

    /* Leading "#set K=V" lines are comments to YAML and --set to us. */
    copy = malloc(size + 1);
    if (copy) {
        memcpy(copy, data, size);
        copy[size] = '\0';
        char *line = copy;
        while (n_sets < 4 && strncmp(line, "#set ", 5) == 0) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            sets[n_sets++] = line + 5;
            if (!nl)
                break;
            line = nl + 1;
        }
    }

    struct config *cfg = NULL;
    struct config_errors errs = {0};
    if (config_load(path, sets, n_sets, plugins, 1, &cfg, &errs) == 0 &&
        (!cfg || errs.n != 0))
        __builtin_trap(); /* success must come with a config and no errors */
    if (cfg == NULL && errs.n == 0 && errs.msgs)
        __builtin_trap();
    config_errors_free(&errs);
    config_free(cfg);
    free(copy);
    unlink(path);
    return 0;
}
