#!/usr/bin/env python3
"""Trains one lab model with TensorFlow 2.21 (Keras 3) exactly as cnnscope builds it from
Profiles/models/NAME.yaml, on Fashion-MNIST (or MNIST: any IDX folder), saves it as a .keras
archive, and writes Keras's own test accuracy and loss (JSON) and its predicted class per test
image (CSV) beside it. Used by Scripts/compare-keras; not part of CI."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tensorflow"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import yaml
import tensorflow as tf
from train_keras import build, idx

root, data_dir, name, out, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
xtr, ytr = idx(f"{data_dir}/train-images-idx3-ubyte.gz"), idx(f"{data_dir}/train-labels-idx1-ubyte.gz")
xte, yte = idx(f"{data_dir}/t10k-images-idx3-ubyte.gz"), idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz")
xva, yva, xtr, ytr = xtr[-6000:], ytr[-6000:], xtr[:-6000], ytr[:-6000]
with open(f"{root}/Profiles/models/{name}.yaml") as f:
    profile = yaml.safe_load(f)
tf.keras.utils.set_random_seed(42)
m = build(profile, (28, 28, 1))
m.fit(xtr, ytr, batch_size=64, epochs=epochs, validation_data=(xva, yva), verbose=0)
loss, acc = m.evaluate(xte, yte, batch_size=64, verbose=0)
pred = m.predict(xte, batch_size=64, verbose=0).argmax(axis=1)
m.save(f"{out}/{name}.keras")
with open(f"{out}/{name}.keras-evaluate.json", "w") as f:
    json.dump({"model": name, "test_accuracy": acc, "test_loss": loss, "tensorflow": tf.__version__,
               "keras": tf.keras.__version__ if hasattr(tf.keras, "__version__") else "3", "images": int(len(yte))}, f)
np.savetxt(f"{out}/{name}.keras-predictions.csv", pred, fmt="%d")
print(json.dumps({"model": name, "test_accuracy": acc, "test_loss": loss}))
