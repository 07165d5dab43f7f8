"""TensorFlow side of Scripts/compare-tensorflow-imagenet: MobileNetV2 and VGG16 (include_top=False,
random weights, 224x224x3) forward passes through tf.function, at each batch size; prints one JSON
line per (model, batch) with the median images/s over the timed repetitions (after warm-up)."""
import json, sys, time
import numpy as np
import tensorflow as tf

models = sys.argv[1].split(",")
batches = [int(b) for b in sys.argv[2].split(",")]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20
for name in models:
    make = {"mobilenetv2": tf.keras.applications.MobileNetV2, "vgg16": tf.keras.applications.VGG16}[name]
    model = make(include_top=False, weights=None, input_shape=(224, 224, 3))
    fn = tf.function(lambda x: model(x, training=False))
    for b in batches:
        x = tf.constant(np.random.default_rng(1).random((b, 224, 224, 3), dtype=np.float32))
        for _ in range(3):
            fn(x).numpy()
        times = []
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end or len(times) < 3:
            t0 = time.perf_counter(); fn(x).numpy(); times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        print(json.dumps({"model": name, "batch": b, "images_per_second": b / med, "median_s": med,
                          "min_s": times[0], "max_s": times[-1], "repetitions": len(times),
                          "tensorflow": tf.__version__}), flush=True)
