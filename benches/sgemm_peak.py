#!/usr/bin/env python3
"""numpy/OpenBLAS single-precision matrix-product peak on this machine, for benches/gemm.rs.

Square products of 1024..3072 on all cores, best of 5 runs each, by wall time and per busy core
(the process's CPU time: on a machine shared with other work the wall figure measures the load,
the per-core one the library); prints one line:
`sgemm_peak_gflops <wall> per_core_gflops <cpu> sizes <n>:<GFLOP/s>,... blas <library, version, kernel, threads>`.
"""
import time

import numpy as np

results = {}
per_core = {}
for n in (1024, 2048, 3072):
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best, best_cpu = float("inf"), float("inf")
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        a @ b
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    results[n] = 2.0 * n**3 / best / 1e9
    per_core[n] = 2.0 * n**3 / best_cpu / 1e9
try:
    from threadpoolctl import threadpool_info

    blas = ";".join(f"{i['internal_api']}-{i['version']}-{i.get('architecture')}-threads{i['num_threads']}" for i in threadpool_info())
except ImportError:
    blas = "unknown(pip install threadpoolctl)"
sizes = ",".join(f"{n}:{g:.1f}" for n, g in results.items())
print(f"sgemm_peak_gflops {max(results.values()):.1f} per_core_gflops {max(per_core.values()):.1f} sizes {sizes} blas {blas}")
