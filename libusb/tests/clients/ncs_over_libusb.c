/*
 * An NCS1 host written against libusb 1.0 alone (our code, after the protocol described in
 * docs/usb_protocol.md): boot the first stick in its ROM, find its booted firmware (same port
 * path on any bus, else any booted stick), allocate a graph, run N inferences two at a time and
 * compare every output with the expected bytes; then misuse the API (NULLs, stale handles and
 * devices, wrong endpoints) and expect error codes. Built by libusb/tests/c_client.rs with the
 * system cc against libusb's own libusb.h and run against ncs's drop-in libusb-1.0.so.0 over
 * software sticks. Prints "PASS" last on success.
 *
 *   usage: ncs_over_libusb FIRMWARE GRAPH INPUTS.f16 EXPECTED.f16 CASES N
 *   (INPUTS and EXPECTED hold CASES inputs and outputs back to back; inference i uses i % CASES)
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libusb.h>

#define VID 0x03e7
#define ROM_PID 0x2150
#define BOOTED_PID 0xf63b
#define EP_OUT 0x01
#define EP_IN 0x81
#define LINK_TIMEOUT 10000
#define PERMIT 0xABCDu
#define WAITING 0x22u

#define FAIL(...) do { fprintf(stderr, "FAIL line %d: ", __LINE__); fprintf(stderr, __VA_ARGS__); \
    fprintf(stderr, "\n"); exit(1); } while (0)
#define EXPECT(call, want) do { int r_ = (call); if (r_ != (want)) \
    FAIL("%s returned %d (%s), expected %d", #call, r_, libusb_error_name(r_), (want)); } while (0)

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); *len = ftell(f); fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len ? *len : 1);
    if (fread(buf, 1, *len, f) != (size_t)*len) { perror(path); exit(1); }
    fclose(f);
    return buf;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int write_all(libusb_device_handle *h, const void *data, int len) {
    const unsigned char *p = data;
    while (len > 0) {
        int moved = 0;
        int r = libusb_bulk_transfer(h, EP_OUT, (unsigned char *)p, len, &moved, LINK_TIMEOUT);
        if (r) return r;
        p += moved; len -= moved;
    }
    return 0;
}

/* Reads exactly len bytes; a zero-length packet (0 bytes moved) is skipped. */
static int read_all(libusb_device_handle *h, void *data, int len) {
    unsigned char *p = data;
    int empty = 0;
    while (len > 0) {
        int moved = 0;
        int r = libusb_bulk_transfer(h, EP_IN, p, len, &moved, LINK_TIMEOUT);
        if (r) return r;
        if (moved == 0 && ++empty > 8) return LIBUSB_ERROR_IO;
        p += moved; len -= moved;
    }
    return 0;
}

static int header(libusb_device_handle *h, int cmd, const char *name, uint32_t len, int hostready) {
    unsigned char hdr[64] = {0};
    hdr[0] = (unsigned char)cmd;
    hdr[1] = (unsigned char)hostready;
    for (int i = 0; i < 4; i++) hdr[4 + i] = (unsigned char)(len >> (8 * i));
    if (name) strncpy((char *)hdr + 12, name, 51);
    return write_all(h, hdr, 64);
}

static uint32_t word_of(const unsigned char *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

static uint32_t status(libusb_device_handle *h) {
    unsigned char w[4];
    if (header(h, 0, NULL, 0, 0) || read_all(h, w, 4)) return 0xffffffffu;
    return word_of(w);
}

/* 0 on success, 1 when the stick refused the permit, else a libusb error. */
static int transfer(libusb_device_handle *h, int get, const char *name, void *data, int len, int hostready) {
    unsigned char w[4];
    int r = header(h, get ? 3 : 2, name, (uint32_t)len, hostready);
    if (!r) r = read_all(h, w, 4);
    if (r) return r;
    if (word_of(w) != PERMIT) return 1;
    return get ? read_all(h, data, len) : write_all(h, data, len);
}

static void set(libusb_device_handle *h, const char *name, const void *data, int len, int hostready) {
    int r = transfer(h, 0, name, (void *)data, len, hostready);
    if (r) FAIL("SET %s: %d", name, r);
}

static int port_path(libusb_device *d, uint8_t *ports) { return libusb_get_port_numbers(d, ports, 7); }

/* Boots the first stick in its ROM; returns its port path length (path in ports). */
static int boot(const unsigned char *fw, long fw_len, uint8_t *ports, libusb_device **rom_out) {
    libusb_device **list;
    ssize_t n = libusb_get_device_list(NULL, &list);
    if (n < 1) FAIL("no devices (%zd)", n);
    libusb_device *rom = NULL;
    for (ssize_t i = 0; i < n && !rom; i++) {
        struct libusb_device_descriptor d;
        EXPECT(libusb_get_device_descriptor(list[i], &d), 0);
        if (d.idVendor == VID && d.idProduct == ROM_PID) rom = list[i];
    }
    if (!rom) FAIL("no stick in its ROM");
    libusb_ref_device(rom);
    libusb_free_device_list(list, 1);
    int depth = port_path(rom, ports);
    if (depth < 1) FAIL("port path: %d", depth);
    libusb_device_handle *h;
    EXPECT(libusb_open(rom, &h), 0);
    EXPECT(libusb_set_configuration(h, 1), 0);
    EXPECT(libusb_claim_interface(h, 0), 0);
    EXPECT(libusb_set_configuration(h, 1), LIBUSB_ERROR_BUSY); /* not while claimed */
    struct libusb_config_descriptor *c;
    EXPECT(libusb_get_config_descriptor(rom, 0, &c), 0);
    int chunk = 0; unsigned char ep = 0;
    const struct libusb_interface_descriptor *alt = c->interface[0].altsetting;
    for (int e = 0; e < alt->bNumEndpoints && !chunk; e++) {
        const struct libusb_endpoint_descriptor *d = &alt->endpoint[e];
        if ((d->bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_BULK && !(d->bEndpointAddress & 0x80)) {
            ep = d->bEndpointAddress; chunk = d->wMaxPacketSize;
        }
    }
    libusb_free_config_descriptor(c);
    if (chunk != 512 || ep != EP_OUT) FAIL("ROM endpoint 0x%02x, %d-byte packets", ep, chunk);
    for (long off = 0; off < fw_len; off += chunk) {
        int len = fw_len - off < chunk ? (int)(fw_len - off) : chunk, moved = 0;
        int r = libusb_bulk_transfer(h, ep, (unsigned char *)fw + off, len, &moved, 2000);
        if (r == LIBUSB_ERROR_NO_DEVICE) break;
        if (r || moved != len) FAIL("boot chunk at %ld: %s", off, libusb_error_name(r));
    }
    EXPECT(libusb_release_interface(h, 0), 0);
    libusb_close(h);
    *rom_out = rom;
    return depth;
}

/* The booted firmware: same port path on any bus first, else any booted stick; WAITING. */
static libusb_device_handle *open_booted(const uint8_t *ports, int depth, int *packet, char *where) {
    double deadline = now_s() + 15;
    while (now_s() < deadline) {
        libusb_device **list;
        ssize_t n = libusb_get_device_list(NULL, &list);
        for (int pass = 0; pass < 2; pass++) {
            for (ssize_t i = 0; i < n; i++) {
                struct libusb_device_descriptor d;
                uint8_t p[7];
                if (libusb_get_device_descriptor(list[i], &d) || d.idProduct != BOOTED_PID) continue;
                int same = port_path(list[i], p) == depth && !memcmp(p, ports, depth);
                if (same != (pass == 0)) continue;
                libusb_device_handle *h;
                if (libusb_open(list[i], &h)) continue;
                if (libusb_claim_interface(h, 0) == 0 && status(h) == WAITING) {
                    struct libusb_config_descriptor *c;
                    EXPECT(libusb_get_config_descriptor(list[i], 0, &c), 0);
                    *packet = c->interface[0].altsetting[0].endpoint[0].wMaxPacketSize;
                    libusb_free_config_descriptor(c);
                    sprintf(where, "%u-%u (address %u)", libusb_get_bus_number(list[i]), p[0],
                            libusb_get_device_address(list[i]));
                    libusb_free_device_list(list, 1);
                    return h;
                }
                libusb_close(h);
            }
        }
        libusb_free_device_list(list, 1);
        usleep(10000);
    }
    FAIL("the booted stick did not appear within 15 s");
}

/* GET output, retried every 1 ms for 15 s while the stick refuses it (still computing). */
static void get_output(libusb_device_handle *h, void *out, int len) {
    double deadline = now_s() + 15;
    for (;;) {
        int r = transfer(h, 1, "output", out, len, 0);
        if (r == 0) return;
        if (r != 1 || now_s() > deadline) FAIL("GET output: %d", r);
        usleep(1000);
    }
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: %s FIRMWARE GRAPH INPUTS EXPECTED CASES N\n", argv[0]); return 2; }
    long fw_len, graph_len, inputs_len, expected_len;
    unsigned char *fw = slurp(argv[1], &fw_len), *graph = slurp(argv[2], &graph_len);
    unsigned char *inputs = slurp(argv[3], &inputs_len), *expected = slurp(argv[4], &expected_len);
    int cases = atoi(argv[5]), n = atoi(argv[6]);
    int in_len = (int)(inputs_len / cases), out_len = (int)(expected_len / cases);
    int stages = graph[240] | graph[241] << 8, aux_len = 224 + 4 * stages;

    EXPECT(libusb_init(NULL), 0);
    uint8_t ports[7];
    libusb_device *rom;
    int depth = boot(fw, fw_len, ports, &rom);
    int packet = 0;
    char where[64];
    libusb_device_handle *h = open_booted(ports, depth, &packet, where);
    printf("booted at %s, %d-byte packets\n", where, packet);
    /* The ROM's device is gone since the stick re-enumerated. */
    libusb_device_handle *stale;
    EXPECT(libusb_open(rom, &stale), LIBUSB_ERROR_NO_DEVICE);
    libusb_unref_device(rom);

    if (status(h) != WAITING) FAIL("not WAITING before allocation");
    set(h, "blobFile", graph, (int)graph_len, 0);
    unsigned char *aux = calloc(1, aux_len), *out = malloc(out_len);
    set(h, "auxBuffer", aux, aux_len, 0);
    int32_t config[10] = {1, 0, 1, 95, 85, 0, 100, 10000, 0, 1};
    set(h, "config", config, sizeof config, 0);

    int loaded = 0, collected = 0, slot = 0;
    while (collected < n) {
        while (loaded < n && loaded - collected < 2) {
            set(h, slot ? "input2" : "input1", inputs + (long)(loaded % cases) * in_len, in_len,
                loaded == collected);
            slot = !slot; loaded++;
        }
        int two = loaded - collected == 2;
        get_output(h, out, out_len);
        int r = transfer(h, 1, "auxBuffer", aux, aux_len, two);
        if (r) FAIL("GET auxBuffer: %d", r);
        if (aux[0]) FAIL("firmware error: %.120s", (char *)aux);
        if (memcmp(out, expected + (long)(collected % cases) * out_len, out_len))
            FAIL("inference %d differs from the CPU reference", collected);
        collected++;
    }
    float first_stage;
    memcpy(&first_stage, aux + 224, 4);
    printf("%d inferences identical to the reference (%d stages, stage 0 %.3f ms)\n", n, stages, first_stage);

    /* Misuse: error codes, never a crash. */
    unsigned char junk[64] = {0};
    int moved = -1;
    EXPECT(libusb_bulk_transfer(h, 0x02, junk, 64, &moved, 100), LIBUSB_ERROR_IO);
    EXPECT(libusb_bulk_transfer(h, EP_OUT, NULL, 64, &moved, 100), LIBUSB_ERROR_INVALID_PARAM);
    EXPECT(libusb_bulk_transfer(h, EP_IN, junk, -1, &moved, 100), LIBUSB_ERROR_INVALID_PARAM);
    EXPECT(libusb_claim_interface(h, 3), LIBUSB_ERROR_NOT_FOUND);
    EXPECT((int)libusb_get_device_list(NULL, NULL), LIBUSB_ERROR_INVALID_PARAM);
    EXPECT(libusb_open((libusb_device *)(uintptr_t)0x1234, &stale), LIBUSB_ERROR_INVALID_PARAM);
    EXPECT(libusb_get_port_numbers((libusb_device *)(uintptr_t)0x1234, ports, 7), LIBUSB_ERROR_INVALID_PARAM);
    libusb_free_device_list((libusb_device **)(uintptr_t)0x1234, 1);
    libusb_free_config_descriptor((struct libusb_config_descriptor *)(uintptr_t)0x1234);
    libusb_unref_device((libusb_device *)(uintptr_t)0x1234);
    if (strcmp(libusb_error_name(LIBUSB_ERROR_TIMEOUT), "LIBUSB_ERROR_TIMEOUT")) FAIL("error name");
    if (!libusb_strerror(-1000)) FAIL("strerror");

    /* Close: reset request; the handle is stale afterwards. */
    EXPECT(header(h, 1, NULL, 0, 0), 0);
    libusb_close(h);
    EXPECT(libusb_bulk_transfer(h, EP_OUT, junk, 64, &moved, 100), LIBUSB_ERROR_INVALID_PARAM);
    EXPECT(libusb_claim_interface(h, 0), LIBUSB_ERROR_INVALID_PARAM);
    libusb_close(h); /* twice: ignored */
    libusb_exit(NULL);
    free(fw); free(graph); free(inputs); free(expected); free(aux); free(out);
    printf("PASS\n");
    return 0;
}
