#!/usr/bin/env python3
"""Writes the Keras 3 fixtures of Tests/Fixtures/keras with TensorFlow 2.21 (Keras 3): two small
models saved as .keras archives (and the first also as .weights.h5), eight input images each
(.npy, NHWC float32) and the probabilities Keras predicts for them (.npy). Run by
Scripts/keras/make-fixtures in a virtual environment; the files are committed."""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
from keras import layers

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)

def settle(m, shape):
    """A few training steps on random data, so batch-norm statistics and weights are not their defaults."""
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.random((64,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, 64)
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)

def save(build, name, shape):
    """Builds, settles and saves the model without its optimizer state: built again after
    clear_session (so the layer names repeat), with the settled weights."""
    keras.backend.clear_session()
    m = build()
    settle(m, shape)
    weights = m.get_weights()
    keras.backend.clear_session()
    bare = build()
    bare.set_weights(weights)
    x = rng.random((8,) + shape, dtype=np.float32)
    np.save(f"{out}/{name}-inputs.npy", x)
    np.save(f"{out}/{name}-probabilities.npy", bare.predict(x, verbose=0).astype(np.float32))
    bare.save(f"{out}/{name}.keras")
    return bare

# The lab's basic CNN layer for layer (create_cnn_with_config: Conv2D(relu), BatchNormalization,
# MaxPooling2D; Flatten, Dense(relu), Dropout(0.3), Dense(softmax)), with fewer filters.
def basic():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(4, 3, activation="relu", padding="same"), layers.BatchNormalization(), layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, activation="relu", padding="same"), layers.BatchNormalization(), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ], name="basic_small")

save(basic, "basic-small", (28, 28, 1)).save_weights(f"{out}/basic-small.weights.h5")

# A residual and Inception-style functional model: every other layer type the importer maps.
def residual():
    inp = keras.Input((16, 16, 3))
    x = layers.Rescaling(2.0, offset=-1.0)(inp)
    x = layers.ZeroPadding2D(((1, 1), (1, 1)))(x)
    x = layers.Conv2D(8, 3, strides=2, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(max_value=6.0)(x)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(8, 1)(y)
    x = layers.Add()([x, y])
    a = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    b = layers.Conv2D(4, 1, activation="tanh")(x)
    x = layers.Concatenate()([a, b])
    x = layers.Activation("relu")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.MaxPooling2D(2, strides=1, padding="valid")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outp = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, outp, name="residual_small")

save(residual, "residual-small", (16, 16, 3))
print("keras", keras.__version__, "wrote", sorted(os.listdir(out)))
