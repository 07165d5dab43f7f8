"""Peer side of Scripts/compare-tensorflow-imagenet: MobileNetV2 and VGG16 (include_top=False,
random weights, 224x224x3) forward passes through tf.function and, when the `openvino` package is
installed, through OpenVINO (f32, CPU plugin, the same Keras model converted in memory with
openvino.convert_model), at each batch size; prints one JSON line per (runtime, model, batch) with
the median images/s over the timed repetitions (after warm-up)."""
import json, sys, time
import numpy as np
import tensorflow as tf

try:
    import openvino as ov
except ImportError:
    ov = None


def timed(run, seconds):
    for _ in range(3):
        run()
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
    times.sort()
    return times

models = sys.argv[1].split(",")
batches = [int(b) for b in sys.argv[2].split(",")]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20
for name in models:
    make = {"mobilenetv2": tf.keras.applications.MobileNetV2, "vgg16": tf.keras.applications.VGG16}[name]
    model = make(include_top=False, weights=None, input_shape=(224, 224, 3))
    fn = tf.function(lambda x: model(x, training=False))
    for b in batches:
        x = np.random.default_rng(1).random((b, 224, 224, 3), dtype=np.float32)
        tx = tf.constant(x)
        runs = [("tensorflow", tf.__version__, lambda: fn(tx).numpy())]
        if ov is not None:
            ov_model = ov.convert_model(model, input=[(b, 224, 224, 3)])
            compiled = ov.Core().compile_model(ov_model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            runs.append(("openvino", ov.__version__, lambda: compiled([x])))
        for runtime, version, run in runs:
            times = timed(run, seconds)
            med = times[len(times) // 2]
            print(json.dumps({"runtime": runtime, "version": version, "model": name, "batch": b,
                              "images_per_second": b / med, "median_s": med, "min_s": times[0],
                              "max_s": times[-1], "repetitions": len(times)}), flush=True)
