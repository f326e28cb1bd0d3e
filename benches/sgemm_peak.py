#!/usr/bin/env python3
"""numpy/OpenBLAS single-precision matrix-product peak on this machine, for benches/gemm.rs.

Square products of 1024..3072 on all cores, best of 5 runs each; prints one line:
`sgemm_peak_gflops <value> sizes <n>:<GFLOP/s>,... blas <library, version, kernel, threads>`.
"""
import time

import numpy as np

results = {}
for n in (1024, 2048, 3072):
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    results[n] = 2.0 * n**3 / best / 1e9
try:
    from threadpoolctl import threadpool_info

    blas = ";".join(f"{i['internal_api']}-{i['version']}-{i.get('architecture')}-threads{i['num_threads']}" for i in threadpool_info())
except ImportError:
    blas = "unknown(pip install threadpoolctl)"
sizes = ",".join(f"{n}:{g:.1f}" for n, g in results.items())
print(f"sgemm_peak_gflops {max(results.values()):.1f} sizes {sizes} blas {blas}")
