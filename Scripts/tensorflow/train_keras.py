#!/usr/bin/env python3
"""Trains the lab's models with TensorFlow/Keras exactly as cnnscope builds them from
Profiles/models/*.yaml, one epoch each on Fashion-MNIST, and prints one JSON line per model:
seconds per epoch, test accuracy, predict ms per image (batch 64 and a raw tf.function forward),
parameter count. Used by Scripts/compare-tensorflow; not part of CI."""
import gzip, json, os, sys, time
import numpy as np
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
from tensorflow import keras

def idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, n = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if magic == 0x803:
        r, c = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r, c, 1).astype("float32") / 255
    return np.frombuffer(data, np.uint8, offset=8).astype("int64")

def build(profile, input_shape):
    m = keras.Sequential([keras.Input(input_shape)])
    act = profile.get("activation", "relu")
    bn = profile.get("batch_norm", False)
    for b in profile.get("conv_blocks") or []:
        k = b.get("kernel_size", 3)
        for _ in range(b.get("convs", 1)):
            # The lab's create_cnn_with_config: Conv2D(activation), then BatchNormalization.
            m.add(keras.layers.Conv2D(b["filters"], k, strides=b.get("strides", 1), padding=b.get("padding", "same"),
                                      activation=act))
            if bn:
                m.add(keras.layers.BatchNormalization())
        if b.get("pool_size", 2) > 0:
            pool = keras.layers.MaxPooling2D if b.get("pool_type", "max") == "max" else keras.layers.AveragePooling2D
            m.add(pool(b.get("pool_size", 2)))
    m.add(keras.layers.Flatten())
    for u in profile.get("dense_units") or []:
        m.add(keras.layers.Dense(u, activation=act))
        if profile.get("dropout_rate", 0) > 0:
            m.add(keras.layers.Dropout(profile["dropout_rate"]))
    m.add(keras.layers.Dense(profile.get("classes", 10), activation="softmax"))
    opt = keras.optimizers.Adam(profile.get("learning_rate", 1e-3)) if profile.get("optimizer", "adam") == "adam" \
        else keras.optimizers.SGD(profile.get("learning_rate", 1e-2), momentum=0.9)
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

def main():
    root, data_dir = sys.argv[1], sys.argv[2]
    models = sys.argv[3].split(",")
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    xtr, ytr = idx(f"{data_dir}/train-images-idx3-ubyte.gz"), idx(f"{data_dir}/train-labels-idx1-ubyte.gz")
    xte, yte = idx(f"{data_dir}/t10k-images-idx3-ubyte.gz"), idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz")
    xva, yva, xtr, ytr = xtr[-6000:], ytr[-6000:], xtr[:-6000], ytr[:-6000]
    # Untimed warm-up: TensorFlow starts its runtime and thread pools on the first fit, which would
    # otherwise be charged to whichever model comes first (compare-tensorflow runs one model per process).
    w = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    w.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    w.fit(xtr[:256], ytr[:256], batch_size=64, epochs=1, validation_data=(xva[:64], yva[:64]), verbose=0)
    for name in models:
        with open(f"{root}/Profiles/models/{name}.yaml") as f:
            profile = yaml.safe_load(f)
        tf.keras.utils.set_random_seed(42)
        m = build(profile, (28, 28, 1))
        t0 = time.perf_counter()
        m.fit(xtr, ytr, batch_size=64, epochs=epochs, validation_data=(xva, yva), verbose=0)
        train_s = time.perf_counter() - t0
        loss, acc = m.evaluate(xte, yte, batch_size=64, verbose=0)
        m.predict(xte[:64], batch_size=64, verbose=0)
        t0 = time.perf_counter(); m.predict(xte[:1000], batch_size=64, verbose=0)
        predict_ms = (time.perf_counter() - t0) * 1e3 / 1000
        fwd = tf.function(lambda x: m(x, training=False))
        fwd(xte[:64]); fwd(xte[:1])
        t0 = time.perf_counter()
        for i in range(0, 1024, 64): fwd(xte[i:i + 64])
        raw64 = (time.perf_counter() - t0) * 1e3 / 1024
        t0 = time.perf_counter()
        for i in range(200): fwd(xte[i:i + 1])
        raw1 = (time.perf_counter() - t0) * 1e3 / 200
        print(json.dumps({"model": name, "seconds_per_epoch": train_s / epochs, "test_accuracy": acc, "test_loss": loss,
                          "predict_ms_per_image": predict_ms, "forward_ms_per_image_b64": raw64,
                          "forward_ms_per_image_b1": raw1, "params": m.count_params()}), flush=True)

if __name__ == "__main__":
    main()
