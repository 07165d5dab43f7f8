#!/usr/bin/env python3
"""ONNX Runtime side of Scripts/compare-onnxruntime, for one model and one batch size: writes a
seeded NCHW input (.npy) and ORT's outputs for it, then times forward passes of that batch (all
graph optimisations on, intra-op threads = the cores given) and prints one JSON line.
Usage: ort_run.py MODEL.onnx BATCH THREADS OUT_PREFIX SECONDS"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

path, batch, threads, prefix, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
shape = [batch] + [d for d in inp.shape[1:]]
x = np.random.default_rng(3).random(shape, dtype=np.float32)
np.save(prefix + ".input.npy", x)
y = sess.run(None, {inp.name: x})[0]
np.save(prefix + ".ort.npy", y.reshape(batch, -1))
for _ in range(3):
    sess.run(None, {inp.name: x})
times, end = [], time.perf_counter() + seconds
while time.perf_counter() < end or len(times) < 5:
    t0 = time.perf_counter()
    sess.run(None, {inp.name: x})
    times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
print(json.dumps({"batch": batch, "medianSeconds": med, "minSeconds": times[0], "maxSeconds": times[-1],
                  "repetitions": len(times), "imagesPerSecond": batch / med, "onnxruntime": ort.__version__}))
