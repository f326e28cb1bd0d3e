/*
 * An NCSDK v1 C client in the style of the NCSDK examples (enumerate, open every stick,
 * allocate, LoadTensor/GetResult N times, TIME_TAKEN, thermal stats, close), plus misuse
 * checks. Built by libmvnc/tests/drop_in.rs with the system cc against vendor/mvnc.h and run
 * against ncs's drop-in libmvnc with NCS_EMULATE=2. Prints "PASS" last on success.
 *
 *   usage: multistick GRAPH INPUT.f16 EXPECTED.f16 ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mvnc.h"

#define CHECK(call, want) do { mvncStatus s_ = (call); if (s_ != (want)) { \
    fprintf(stderr, "FAIL line %d: %s returned %d, expected %d\n", __LINE__, #call, s_, (want)); exit(1); } } while (0)

static void *slurp(const char *path, unsigned int *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    void *buf = malloc(n);
    if (fread(buf, 1, n, f) != (size_t)n) { perror(path); exit(1); }
    fclose(f);
    *len = (unsigned int)n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s GRAPH INPUT EXPECTED N\n", argv[0]); return 2; }
    unsigned int graph_len, input_len, expected_len;
    void *graph = slurp(argv[1], &graph_len);
    void *input = slurp(argv[2], &input_len);
    void *expected = slurp(argv[3], &expected_len);
    int iterations = atoi(argv[4]);

    char names[8][MVNC_MAX_NAME_SIZE];
    int count = 0;
    while (count < 8 && mvncGetDeviceName(count, names[count], MVNC_MAX_NAME_SIZE) == MVNC_OK) count++;
    if (count != 2) { fprintf(stderr, "FAIL: found %d sticks, expected 2\n", count); return 1; }
    CHECK(mvncGetDeviceName(count, names[0], MVNC_MAX_NAME_SIZE), MVNC_DEVICE_NOT_FOUND);
    char small[4];
    CHECK(mvncGetDeviceName(0, small, sizeof small), MVNC_INVALID_PARAMETERS);

    void *dev[2], *g[2];
    for (int i = 0; i < count; i++) {
        CHECK(mvncOpenDevice(names[i], &dev[i]), MVNC_OK);
        CHECK(mvncAllocateGraph(dev[i], &g[i], graph, graph_len), MVNC_OK);
        printf("opened %s\n", names[i]);
    }
    /* One graph per stick; bad graphs are refused before any USB traffic. */
    void *extra;
    CHECK(mvncAllocateGraph(dev[0], &extra, graph, graph_len), MVNC_BUSY);
    CHECK(mvncAllocateGraph(dev[0], &extra, graph, 100), MVNC_UNSUPPORTED_GRAPH_FILE);

    for (int it = 0; it < iterations; it++) {
        for (int i = 0; i < count; i++) {
            CHECK(mvncLoadTensor(g[i], input, input_len, (void *)(long)(1000 * i + it)), MVNC_OK);
        }
        for (int i = 0; i < count; i++) {
            void *out, *user;
            unsigned int out_len;
            CHECK(mvncGetResult(g[i], &out, &out_len, &user), MVNC_OK);
            if (out_len != expected_len || memcmp(out, expected, out_len) != 0) {
                fprintf(stderr, "FAIL: stick %d iteration %d: output differs from the reference\n", i, it); return 1;
            }
            if ((long)user != 1000 * i + it) { fprintf(stderr, "FAIL: user parameter %ld\n", (long)user); return 1; }
        }
    }

    float *times; unsigned int times_len = 0;
    CHECK(mvncGetGraphOption(g[0], MVNC_TIME_TAKEN, &times, &times_len), MVNC_OK);
    float total = 0; for (unsigned int s = 0; s < times_len / 4; s++) total += times[s];
    printf("time taken: %u stages, %.3f ms\n", times_len / 4, total);
    float *thermal; unsigned int thermal_len = 0;
    CHECK(mvncGetDeviceOption(dev[0], MVNC_THERMAL_STATS, &thermal, &thermal_len), MVNC_OK);
    if (thermal_len != 100 || thermal[0] < 20 || thermal[0] > 100) { fprintf(stderr, "FAIL: thermal %u %f\n", thermal_len, thermal[0]); return 1; }
    char *debug; unsigned int debug_len;
    CHECK(mvncGetGraphOption(g[0], MVNC_DEBUG_INFO, &debug, &debug_len), MVNC_OK);
    if (debug_len != 120 || debug[0] != 0) { fprintf(stderr, "FAIL: debug string '%s'\n", debug); return 1; }
    int level = -1; unsigned int level_len;
    CHECK(mvncGetDeviceOption(dev[0], MVNC_THERMAL_THROTTLING_LEVEL, &level, &level_len), MVNC_OK);
    float limit = 80.0f;
    CHECK(mvncSetDeviceOption(dev[0], MVNC_TEMP_LIM_LOWER, &limit, 4), MVNC_OK);
    float back = 0; unsigned int back_len;
    CHECK(mvncGetDeviceOption(dev[0], MVNC_TEMP_LIM_LOWER, &back, &back_len), MVNC_OK);
    if (back != 80.0f) { fprintf(stderr, "FAIL: temp limit %f\n", back); return 1; }

    /* Non-blocking mode. */
    int yes = 1;
    CHECK(mvncSetGraphOption(g[0], MVNC_DONT_BLOCK, &yes, 4), MVNC_OK);
    void *out, *user; unsigned int out_len;
    CHECK(mvncGetResult(g[0], &out, &out_len, &user), MVNC_NO_DATA);
    CHECK(mvncLoadTensor(g[0], input, input_len, 0), MVNC_OK);
    CHECK(mvncLoadTensor(g[0], input, input_len, 0), MVNC_OK);
    CHECK(mvncLoadTensor(g[0], input, input_len, 0), MVNC_BUSY);
    CHECK(mvncGetResult(g[0], &out, &out_len, &user), MVNC_OK);
    CHECK(mvncGetResult(g[0], &out, &out_len, &user), MVNC_OK);

    /* Misuse: NULLs, unknown handles and options, wrong lengths. */
    int bogus = 12345;
    CHECK(mvncOpenDevice(NULL, &extra), MVNC_INVALID_PARAMETERS);
    CHECK(mvncOpenDevice(names[0], NULL), MVNC_INVALID_PARAMETERS);
    CHECK(mvncLoadTensor((void *)&bogus, input, input_len, 0), MVNC_INVALID_PARAMETERS);
    CHECK(mvncLoadTensor(g[0], NULL, input_len, 0), MVNC_INVALID_PARAMETERS);
    CHECK(mvncLoadTensor(g[0], input, 1, 0), MVNC_INVALID_PARAMETERS);
    /* Any other length is sent as given, as NCSDK's library does (reported under the log level). */
    int log_level = 1;
    CHECK(mvncSetGlobalOption(MVNC_LOG_LEVEL, &log_level, 4), MVNC_OK);
    CHECK(mvncLoadTensor(g[0], input, 3, 0), MVNC_OK);
    CHECK(mvncLoadTensor(g[0], input, input_len - 2, 0), MVNC_OK);
    CHECK(mvncGetResult(g[0], &out, &out_len, &user), MVNC_OK);
    CHECK(mvncGetResult(g[0], &out, &out_len, &user), MVNC_OK);
    if (out_len != expected_len) { fprintf(stderr, "FAIL: output of %u bytes after a short input\n", out_len); return 1; }
    log_level = 0;
    CHECK(mvncSetGlobalOption(MVNC_LOG_LEVEL, &log_level, 4), MVNC_OK);
    CHECK(mvncGetResult(g[0], NULL, &out_len, &user), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetGraphOption(g[0], MVNC_DONT_BLOCK, &yes, 8), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetGraphOption(g[0], 77, &yes, 4), MVNC_INVALID_PARAMETERS);
    CHECK(mvncGetDeviceOption((void *)&bogus, MVNC_THERMAL_STATS, &thermal, &thermal_len), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetGlobalOption(MVNC_LOG_LEVEL, &yes, 2), MVNC_INVALID_PARAMETERS);
    CHECK(mvncCloseDevice((void *)&bogus), MVNC_INVALID_PARAMETERS);

    for (int i = 0; i < count; i++) {
        CHECK(mvncDeallocateGraph(g[i]), MVNC_OK);
        CHECK(mvncDeallocateGraph(g[i]), MVNC_INVALID_PARAMETERS);
        CHECK(mvncCloseDevice(dev[i]), MVNC_OK);
    }
    CHECK(mvncLoadTensor(g[0], input, input_len, 0), MVNC_INVALID_PARAMETERS);
    printf("PASS\n");
    return 0;
}
