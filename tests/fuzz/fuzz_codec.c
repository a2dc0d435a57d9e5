/*
 * fuzz_codec.c - libFuzzer target over codec_decode_event() and
 * codec_avro_to_json(): whatever the bytes, the codec must answer 0 or -1
 * with a reason, never crash, over-read or allocate without bound.
 *
 * Input layout: byte 0 picks the event kind (mod EVENT_KIND_COUNT), byte 1
 * the key length (mod 16); then the key, then the value. A value starting
 * with 0xff 0xfe gets a valid header for schema id 1..8 (byte 2) prepended
 * instead, so the fuzzer spends its time inside the datum walk.
 *
 * Not built by default. Build and run (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -DDS_SOURCE_DIR="\"$PWD\"" -Idaemon tests/fuzz/fuzz_codec.c \
 *     daemon/codec*.c daemon/arena.c daemon/event.c daemon/records.c daemon/alert.c daemon/buf.c \
 *     $(pkg-config --cflags --libs avro-c jansson) -lm -o fuzz_codec
 *   mkdir -p corpus && ./fuzz_codec -max_len=4096 corpus
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"

#define SCHEMAS DS_SOURCE_DIR "/schemas"
#define FIXTURES DS_SOURCE_DIR "/tests/unit/data/codec"

static struct codec *fz_codec;
static struct arena *fz_arena;
static struct buf fz_val, fz_json;

/* Frees everything at exit so LeakSanitizer reports only real leaks (Avro C
 * keeps its value instances behind an unaligned pointer, which LSan cannot
 * follow from a global). */
static void fz_fini(void)
{
    codec_free(fz_codec);
    fz_codec = NULL;
    arena_free(fz_arena);
    buf_free(&fz_val);
    buf_free(&fz_json);
}

static void fz_init(void)
{
    static struct cfg_kv ids[] = {
        {"1", SCHEMAS "/transcript_segment.avsc"},
        {"2", SCHEMAS "/document_annotation.avsc"},
        {"3", SCHEMAS "/iot_alert.avsc"},
        {"4", SCHEMAS "/registry_change.avsc"},
        {"5", SCHEMAS "/opportunity_update.avsc"},
        {"6", SCHEMAS "/lead_rerating.avsc"},
        {"7", SCHEMAS "/coaching_alert.avsc"},
        {"8", SCHEMAS "/meeting_summary.avsc"},
        {"20", SCHEMAS "/work_item.avsc"},
        {"101", FIXTURES "/transcript_segment_v2.avsc"},
        {"102", FIXTURES "/transcript_segment_v0.avsc"},
    };
    struct config_schemas sc = {.ids = {.v = ids, .n = sizeof(ids) / sizeof(ids[0])},
                                .dir = SCHEMAS};
    char err[512];
    if (codec_open(&sc, &fz_codec, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_codec: codec_open: %s\n", err);
        abort();
    }
    fz_arena = arena_new(0);
    buf_init(&fz_val);
    buf_init(&fz_json);
    atexit(fz_fini);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_codec)
        fz_init();
    if (size < 2)
        return 0;
    enum event_kind kind = (enum event_kind)(data[0] % EVENT_KIND_COUNT);
    size_t klen = data[1] % 16;
    data += 2;
    size -= 2;
    if (klen > size)
        klen = size;
    const uint8_t *key = data;
    data += klen;
    size -= klen;

    buf_reset(&fz_val);
    if (size >= 3 && data[0] == 0xff && data[1] == 0xfe) {
        uint8_t hdr[5] = {0, 0, 0, 0, (uint8_t)(1 + data[2] % 8)};
        buf_append(&fz_val, hdr, sizeof(hdr));
        data += 3;
        size -= 3;
    }
    buf_append(&fz_val, data, size);

    struct event ev;
    struct codec_error e;
    arena_reset(fz_arena);
    memset(&e, 0, sizeof(e));
    int rc = codec_decode_event(fz_codec, kind, klen ? key : NULL, klen, fz_val.data,
                                fz_val.len, fz_arena, &ev, &e);
    if (rc != 0 && (!e.reason || !e.message[0]))
        abort(); /* every failure must say why */
    if (rc == 0 && (!ev.event_id || !ev.customer_id))
        abort();

    char err[256];
    if (codec_avro_to_json(fz_codec, fz_val.data, fz_val.len, &fz_json, err,
                           sizeof(err)) == 0 &&
        fz_json.data[fz_json.len] != '\0')
        abort();
    return 0;
}
