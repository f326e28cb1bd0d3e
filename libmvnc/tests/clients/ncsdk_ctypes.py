#!/usr/bin/env python3
"""An NCSDK v1 Python client using the C API through ctypes, as NCSDK's mvnc.mvncapi does
(CDLL("libmvnc.so"), 28-byte names, LoadTensor with an fp16 buffer and a user object, GetResult
returning the library's buffer). Standard library only. Run by libmvnc/tests/drop_in.rs against
ncs's drop-in library with NCS_EMULATE=1; prints "PASS" last on success.

    usage: ncsdk_ctypes.py LIBMVNC GRAPH INPUT.f16 EXPECTED.f16
"""
import ctypes
import sys

lib_path, graph_path, input_path, expected_path = sys.argv[1:5]
f = ctypes.CDLL(lib_path)
OK, NO_DATA, DEVICE_NOT_FOUND = 0, -8, -4
TIME_TAKEN, THERMAL_STATS, DONT_BLOCK = 1000, 1000, 2


def check(status, what, want=OK):
    if status != want:
        sys.exit(f"FAIL: {what} returned {status}, expected {want}")


# EnumerateDevices()
names = []
while True:
    name = ctypes.create_string_buffer(28)
    status = f.mvncGetDeviceName(len(names), name, 28)
    if status == DEVICE_NOT_FOUND:
        break
    check(status, "mvncGetDeviceName")
    names.append(name.value.decode())
print("devices:", names)

# Device(name).OpenDevice(); AllocateGraph(graphfile)
device = ctypes.c_void_p()
check(f.mvncOpenDevice(bytes(names[0], "ascii"), ctypes.byref(device)), "mvncOpenDevice")
graphfile = open(graph_path, "rb").read()
graph = ctypes.c_void_p()
check(f.mvncAllocateGraph(device, ctypes.byref(graph), graphfile, len(graphfile)), "mvncAllocateGraph")

tensor = open(input_path, "rb").read()
expected = open(expected_path, "rb").read()
keep = []  # mvncapi keeps the user objects alive while queued
for i in range(20):
    user = ctypes.py_object(("image", i))
    keep.append(user)
    check(f.mvncLoadTensor(graph, tensor, len(tensor), ctypes.byref(user)), "mvncLoadTensor")
    output = ctypes.POINTER(ctypes.c_byte)()
    length = ctypes.c_uint()
    userobj = ctypes.c_void_p()
    check(f.mvncGetResult(graph, ctypes.byref(output), ctypes.byref(length), ctypes.byref(userobj)), "mvncGetResult")
    got = ctypes.string_at(output, length.value)
    if got != expected:
        sys.exit(f"FAIL: inference {i}: output differs from the reference")
    back = ctypes.cast(userobj, ctypes.POINTER(ctypes.py_object)).contents.value
    if back != ("image", i):
        sys.exit(f"FAIL: user object {back!r}")

# GetGraphOption(TIME_TAKEN) -> float array; GetDeviceOption(THERMAL_STATS)
times = ctypes.POINTER(ctypes.c_float)()
length = ctypes.c_uint()
check(f.mvncGetGraphOption(graph, TIME_TAKEN, ctypes.byref(times), ctypes.byref(length)), "TIME_TAKEN")
print("time taken: %d stages, %.3f ms" % (length.value // 4, sum(times[i] for i in range(length.value // 4))))
thermal = ctypes.POINTER(ctypes.c_float)()
check(f.mvncGetDeviceOption(device, THERMAL_STATS, ctypes.byref(thermal), ctypes.byref(length)), "THERMAL_STATS")
if length.value != 100:
    sys.exit("FAIL: thermal stats length %d" % length.value)

dont_block = ctypes.c_int(1)
check(f.mvncSetGraphOption(graph, DONT_BLOCK, ctypes.byref(dont_block), 4), "DONT_BLOCK")
check(f.mvncGetResult(graph, ctypes.byref(output), ctypes.byref(length), ctypes.byref(userobj)), "GetResult", NO_DATA)
check(f.mvncDeallocateGraph(graph), "mvncDeallocateGraph")
check(f.mvncCloseDevice(device), "mvncCloseDevice")
print("PASS")
