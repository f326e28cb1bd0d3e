/*
 * Misuse of the NCSDK v1 API that multistick.c does not try: NULL length or user pointers in
 * GetResult, a NULL graph buffer, double close and deallocate, an unknown device name,
 * wrong-length device options, and calls on a closed device's graph. Each must return
 * MVNC_INVALID_PARAMETERS (or the status named), never crash, and leave the stick usable.
 * Prints "PASS" last on success.
 *
 *   usage: misuse GRAPH INPUT.f16 [names]
 *
 * `names` checks only the statuses NCSDK v1 gives for device names it cannot open: an unknown
 * name is MVNC_ERROR (its boot step finds no ROM at that name and fails at once), an empty one,
 * or one of colons only, MVNC_INVALID_PARAMETERS (no first name to split off);
 * docs/usb_protocol.md §16.
 */
#include <stdio.h>
#include <stdlib.h>
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
    if (argc != 3 && argc != 4) return 2;
    unsigned int graph_len, input_len;
    void *file = slurp(argv[1], &graph_len);
    void *input = slurp(argv[2], &input_len);
    char name[MVNC_MAX_NAME_SIZE];
    void *dev, *graph, *out, *user;
    unsigned int out_len;
    int value = 1;
    long long wide = 1;
    short narrow = 1;

    CHECK(mvncGetDeviceName(0, name, sizeof name), MVNC_OK);
    if (argc == 4) {
        CHECK(mvncOpenDevice("no-such-stick", &dev), MVNC_ERROR);
        CHECK(mvncOpenDevice("9-9", &dev), MVNC_ERROR);
        CHECK(mvncOpenDevice("", &dev), MVNC_INVALID_PARAMETERS);
        CHECK(mvncOpenDevice(":", &dev), MVNC_INVALID_PARAMETERS);
        /* The stick is still there to open by its real name. */
        CHECK(mvncOpenDevice(name, &dev), MVNC_OK);
        CHECK(mvncCloseDevice(dev), MVNC_OK);
        printf("PASS\n");
        return 0;
    }
    CHECK(mvncOpenDevice(name, &dev), MVNC_OK);
    CHECK(mvncAllocateGraph(dev, &graph, NULL, graph_len), MVNC_INVALID_PARAMETERS);
    CHECK(mvncAllocateGraph(dev, NULL, file, graph_len), MVNC_INVALID_PARAMETERS);
    CHECK(mvncAllocateGraph(dev, &graph, file, 0), MVNC_UNSUPPORTED_GRAPH_FILE);
    CHECK(mvncAllocateGraph(dev, &graph, file, graph_len), MVNC_OK);

    CHECK(mvncLoadTensor(graph, input, input_len, (void *)7), MVNC_OK);
    CHECK(mvncGetResult(graph, &out, NULL, &user), MVNC_INVALID_PARAMETERS);
    CHECK(mvncGetResult(graph, &out, &out_len, NULL), MVNC_INVALID_PARAMETERS);
    CHECK(mvncGetResult(graph, &out, &out_len, &user), MVNC_OK);
    if ((long)user != 7) { fprintf(stderr, "FAIL: user %ld after refused calls\n", (long)user); return 1; }

    CHECK(mvncSetDeviceOption(dev, MVNC_TEMP_LIM_LOWER, &wide, sizeof wide), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetDeviceOption(dev, MVNC_BACKOFF_TIME_NORMAL, &narrow, sizeof narrow), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetDeviceOption(dev, MVNC_BACKOFF_TIME_NORMAL, NULL, sizeof value), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetDeviceOption(dev, MVNC_THERMAL_STATS, &value, sizeof value), MVNC_INVALID_PARAMETERS);
    CHECK(mvncSetDeviceOption(dev, MVNC_BACKOFF_TIME_NORMAL, &value, sizeof value), MVNC_OK);

    CHECK(mvncDeallocateGraph(graph), MVNC_OK);
    CHECK(mvncDeallocateGraph(graph), MVNC_INVALID_PARAMETERS);
    CHECK(mvncAllocateGraph(dev, &graph, file, graph_len), MVNC_OK);
    CHECK(mvncCloseDevice(dev), MVNC_OK);
    CHECK(mvncCloseDevice(dev), MVNC_INVALID_PARAMETERS);
    CHECK(mvncLoadTensor(graph, input, input_len, NULL), MVNC_INVALID_PARAMETERS);
    CHECK(mvncGetResult(graph, &out, &out_len, &user), MVNC_INVALID_PARAMETERS);
    CHECK(mvncDeallocateGraph(graph), MVNC_INVALID_PARAMETERS);

    /* The stick is still usable after all that. */
    CHECK(mvncOpenDevice(name, &dev), MVNC_OK);
    CHECK(mvncAllocateGraph(dev, &graph, file, graph_len), MVNC_OK);
    CHECK(mvncLoadTensor(graph, input, input_len, NULL), MVNC_OK);
    CHECK(mvncGetResult(graph, &out, &out_len, &user), MVNC_OK);
    CHECK(mvncCloseDevice(dev), MVNC_OK);
    printf("PASS\n");
    return 0;
}
