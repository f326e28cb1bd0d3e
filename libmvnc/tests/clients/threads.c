/*
 * NCSDK v1's blocking semantics across threads: one thread queues 200 inferences (LoadTensor
 * blocks while two are in flight), another collects them (GetResult blocks while none are
 * queued). User parameters must come back in order with the right outputs. Prints "PASS".
 *
 *   usage: threads GRAPH INPUT.f16 EXPECTED.f16
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mvnc.h"

#define N 200
static void *graph;
static void *input, *expected;
static unsigned int input_len, expected_len;
static int failures;

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

static void *producer(void *arg) {
    (void)arg;
    for (long i = 0; i < N; i++) {
        if (mvncLoadTensor(graph, input, input_len, (void *)(i + 1)) != MVNC_OK) { failures++; return NULL; }
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (long i = 0; i < N; i++) {
        void *out, *user; unsigned int len;
        if (mvncGetResult(graph, &out, &len, &user) != MVNC_OK) { failures++; return NULL; }
        if ((long)user != i + 1 || len != expected_len || memcmp(out, expected, len) != 0) {
            fprintf(stderr, "FAIL: result %ld: user %ld\n", i, (long)user); failures++; return NULL;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    unsigned int graph_len;
    void *file = slurp(argv[1], &graph_len);
    input = slurp(argv[2], &input_len);
    expected = slurp(argv[3], &expected_len);
    char name[MVNC_MAX_NAME_SIZE];
    void *dev;
    if (mvncGetDeviceName(0, name, sizeof name) != MVNC_OK || mvncOpenDevice(name, &dev) != MVNC_OK ||
        mvncAllocateGraph(dev, &graph, file, graph_len) != MVNC_OK) { fprintf(stderr, "FAIL: setup\n"); return 1; }
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    mvncDeallocateGraph(graph);
    mvncCloseDevice(dev);
    if (failures) { fprintf(stderr, "FAIL: %d failures\n", failures); return 1; }
    printf("PASS\n");
    return 0;
}
