/*
 * The NCSDK v1 "mvnc" C API (NCSDK 1.09 - 1.12), declared by the ncs project from its
 * documented behaviour: the 13 functions, the status codes and the option numbers.
 * Written for ncs; not Intel's header. Used by build.rs (bindgen) and by C programs that
 * link against ncs's drop-in libmvnc.
 */
#ifndef NCS_MVNC_H
#define NCS_MVNC_H

#ifdef __cplusplus
extern "C" {
#endif

/* Longest device name, including the terminating NUL. */
#define MVNC_MAX_NAME_SIZE 28

typedef enum {
    MVNC_OK = 0,
    MVNC_BUSY = -1,                   /* a graph is allocated; or two inferences queued (non-blocking) */
    MVNC_ERROR = -2,                  /* USB or link failure */
    MVNC_OUT_OF_MEMORY = -3,
    MVNC_DEVICE_NOT_FOUND = -4,       /* no device at this index */
    MVNC_INVALID_PARAMETERS = -5,     /* NULL pointer, unknown handle or option, wrong length */
    MVNC_TIMEOUT = -6,
    MVNC_MVCMD_NOT_FOUND = -7,        /* the firmware file is missing */
    MVNC_NO_DATA = -8,                /* nothing queued (non-blocking) */
    MVNC_GONE = -9,                   /* the graph went away while waiting */
    MVNC_UNSUPPORTED_GRAPH_FILE = -10,
    MVNC_MYRIAD_ERROR = -11           /* the device reported an error: see MVNC_DEBUG_INFO */
} mvncStatus;

typedef enum {
    MVNC_LOG_LEVEL = 0                /* int: 0 silent, 1 errors and info, 2 verbose */
} mvncGlobalOptions;

typedef enum {
    MVNC_ITERATIONS = 0,              /* int */
    MVNC_NETWORK_THROTTLE = 1,        /* int */
    MVNC_DONT_BLOCK = 2,              /* int: 1 = return BUSY / NO_DATA instead of waiting */
    MVNC_TIME_TAKEN = 1000,           /* get: float* to per-stage times (ms) */
    MVNC_DEBUG_INFO = 1001            /* get: char* to the device's 120-byte debug string */
} mvncGraphOptions;

typedef enum {
    MVNC_TEMP_LIM_LOWER = 1,          /* float, degrees C */
    MVNC_TEMP_LIM_HIGHER = 2,         /* float, degrees C */
    MVNC_BACKOFF_TIME_NORMAL = 3,     /* int, ms */
    MVNC_BACKOFF_TIME_HIGH = 4,       /* int, ms */
    MVNC_BACKOFF_TIME_CRITICAL = 5,   /* int, ms */
    MVNC_TEMPERATURE_DEBUG = 6,       /* int */
    MVNC_THERMAL_STATS = 1000,        /* get: float* to 25 temperatures */
    MVNC_OPTIMISATION_LIST = 1001,    /* get: char* to 40 x 50-byte entries */
    MVNC_THERMAL_THROTTLING_LEVEL = 1002 /* get: int 0, 1 or 2 */
} mvncDeviceOptions;

mvncStatus mvncGetDeviceName(int index, char *name, unsigned int nameSize);
mvncStatus mvncOpenDevice(const char *name, void **deviceHandle);
mvncStatus mvncCloseDevice(void *deviceHandle);
mvncStatus mvncAllocateGraph(void *deviceHandle, void **graphHandle, const void *graphFile,
                             unsigned int graphFileLength);
mvncStatus mvncDeallocateGraph(void *graphHandle);
mvncStatus mvncSetGlobalOption(int option, const void *data, unsigned int dataLength);
mvncStatus mvncGetGlobalOption(int option, void *data, unsigned int *dataLength);
mvncStatus mvncSetGraphOption(void *graphHandle, int option, const void *data, unsigned int dataLength);
mvncStatus mvncGetGraphOption(void *graphHandle, int option, void *data, unsigned int *dataLength);
mvncStatus mvncSetDeviceOption(void *deviceHandle, int option, const void *data, unsigned int dataLength);
mvncStatus mvncGetDeviceOption(void *deviceHandle, int option, void *data, unsigned int *dataLength);
mvncStatus mvncLoadTensor(void *graphHandle, const void *inputTensor, unsigned int inputTensorLength,
                          void *userParam);
mvncStatus mvncGetResult(void *graphHandle, void **outputData, unsigned int *outputDataLength,
                         void **userParam);

#ifdef __cplusplus
}
#endif

#endif /* NCS_MVNC_H */
