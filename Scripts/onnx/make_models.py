#!/usr/bin/env python3
"""Writes the models Scripts/compare-onnxruntime runs, as NCHW ONNX graphs built with
onnx.helper (random weights, seeded; nothing is downloaded):
  - the lab's eight CNNs, read from Profiles/models/<name>.yaml (conv blocks with the lab's
    activation, batch norm after the activated convolution, pooling, Flatten, the dense
    layers with Dropout, the 10-class output and its Softmax), at 28x28x1;
  - vgg16 and mobilenetv2 as keras.applications builds them with include_top=False, 224x224x3
    (MobileNetV2's stride-2 convolutions with Keras's (0, 1) padding);
  - resnet18, a PyTorch-style graph: Conv+BN+Relu, MaxPool 3x3/2 pad 1, residual Adds,
    GlobalAveragePool, Flatten, Gemm to 1000 classes, 224x224x3.
Usage: make_models.py OUT_DIR REPO_ROOT [names, comma-separated]
"""
import os
import sys

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

LAB = ["basic-cnn", "shallow-cnn", "deep-cnn", "wide-cnn", "tiny-cnn", "small-filters", "large-filters",
       "mixed-filters"]


class Graph:
    """Accumulates nodes and initializers; every method returns the output value's name."""

    def __init__(self, seed=1):
        self.nodes, self.inits, self.count = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def weight(self, base, shape, fan_in):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(
            (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), n))
        return n

    def node(self, op, inputs, base, **attrs):
        out = self.name(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, pads=None, group=1, bias=True):
        w = self.weight("w", (cout, cin // group, k, k), cin // group * k * k)
        ins = [x, w]
        if bias:
            b = self.name("b")
            self.inits.append(numpy_helper.from_array((self.rng.standard_normal(cout) * 0.01).astype(np.float32), b))
            ins.append(b)
        pads = pads if pads is not None else [k // 2] * 4
        return self.node("Conv", ins, "conv", kernel_shape=[k, k], strides=[stride, stride], pads=pads, group=group)

    def bn(self, x, c):
        names = []
        for part, v in [("scale", 1 + 0.1 * self.rng.standard_normal(c)), ("bias", 0.1 * self.rng.standard_normal(c)),
                        ("mean", 0.1 * self.rng.standard_normal(c)), ("var", 0.5 + self.rng.random(c))]:
            n = self.name("bn_" + part)
            self.inits.append(numpy_helper.from_array(v.astype(np.float32), n))
            names.append(n)
        return self.node("BatchNormalization", [x] + names, "bn", epsilon=1e-3)

    def act(self, x, kind):
        if kind == "relu6":
            lo, hi = self.name("min"), self.name("max")
            self.inits += [numpy_helper.from_array(np.array(0, np.float32), lo),
                           numpy_helper.from_array(np.array(6, np.float32), hi)]
            return self.node("Clip", [x, lo, hi], "relu6")
        return self.node({"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "elu": "Elu"}[kind], [x], kind)

    def dense(self, x, fin, fout):
        w = self.weight("fc_w", (fout, fin), fin)
        b = self.name("fc_b")
        self.inits.append(numpy_helper.from_array(np.zeros(fout, np.float32), b))
        return self.node("Gemm", [x, w, b], "gemm", transB=1)

    def model(self, name, x_shape, out, out_shape):
        g = helper.make_graph(self.nodes, name,
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + list(x_shape))],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N"] + list(out_shape))],
                              initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="cnnscope-compare")
        m.ir_version = 8
        return m


def lab_cnn(name, root):
    p = yaml.safe_load(open(os.path.join(root, "Profiles/models", name + ".yaml")))
    g, x, (c, h, w) = Graph(), "input", (1, 28, 28)
    act = p.get("activation", "relu")
    for b in p["conv_blocks"]:
        k = b["kernel_size"] if isinstance(b["kernel_size"], int) else b["kernel_size"][0]
        s = b.get("strides", 1)
        for _ in range(b.get("convs", 1)):
            same = b.get("padding", "valid") == "same"
            # Keras "same": total k - 1 at stride 1, the smaller half first (even kernels pad after).
            total = max(((h + s - 1) // s - 1) * s + k - h, 0)
            pads = [total // 2, total // 2, total - total // 2, total - total // 2] if same else [0] * 4
            x = g.conv(x, c, b["filters"], k, s, pads=pads)
            h = (h + s - 1) // s if same else (h - k) // s + 1
            w = (w + s - 1) // s if same else (w - k) // s + 1
            c = b["filters"]
            x = g.act(x, act)
            if p.get("batch_norm"):
                x = g.bn(x, c)
        ps = b.get("pool_size", 2)
        if ps:
            op = "MaxPool" if b.get("pool_type", "max") == "max" else "AveragePool"
            x = g.node(op, [x], "pool", kernel_shape=[ps, ps], strides=[ps, ps])
            h, w = h // ps, w // ps
    x = g.node("Flatten", [x], "flatten", axis=1)
    f = c * h * w
    for u in p.get("dense_units", []):
        x = g.act(g.dense(x, f, u), act)
        if p.get("dropout_rate"):
            x = g.node("Dropout", [x], "dropout")
        f = u
    x = g.node("Softmax", [g.dense(x, f, 10)], "softmax", axis=1)
    return g.model(name, (1, 28, 28), x, (10,))


def vgg16():
    g, x, c = Graph(), "input", 3
    for filters, n in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        for _ in range(n):
            x = g.act(g.conv(x, c, filters, 3), "relu")
            c = filters
        x = g.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
    return g.model("vgg16", (3, 224, 224), x, (512, 7, 7))


def mobilenetv2():
    g, x = Graph(), "input"
    x = g.act(g.bn(g.conv(x, 3, 32, 3, 2, pads=[0, 0, 1, 1], bias=False), 32), "relu6")
    c = 32
    for t, cout, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                          (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            inp, hidden = x, c * t
            if t != 1:
                x = g.act(g.bn(g.conv(x, c, hidden, 1, pads=[0] * 4, bias=False), hidden), "relu6")
            pads = [0, 0, 1, 1] if stride == 2 else [1, 1, 1, 1]
            x = g.act(g.bn(g.conv(x, hidden, hidden, 3, stride, pads=pads, group=hidden, bias=False), hidden), "relu6")
            x = g.bn(g.conv(x, hidden, cout, 1, pads=[0] * 4, bias=False), cout)
            if stride == 1 and c == cout:
                x = g.node("Add", [inp, x], "add")
            c = cout
    x = g.act(g.bn(g.conv(x, c, 1280, 1, pads=[0] * 4, bias=False), 1280), "relu6")
    return g.model("mobilenetv2", (3, 224, 224), x, (1280, 7, 7))


def resnet18():
    g, x = Graph(), "input"
    x = g.act(g.bn(g.conv(x, 3, 64, 7, 2, pads=[3] * 4, bias=False), 64), "relu")
    x = g.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for i in range(2):
            s = stride if i == 0 else 1
            y = g.act(g.bn(g.conv(x, c, cout, 3, s, bias=False), cout), "relu")
            y = g.bn(g.conv(y, cout, cout, 3, bias=False), cout)
            skip = x if (s == 1 and c == cout) else g.bn(g.conv(x, c, cout, 1, s, pads=[0] * 4, bias=False), cout)
            x = g.act(g.node("Add", [y, skip], "add"), "relu")
            c = cout
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "gap")], "flatten", axis=1)
    return g.model("resnet18", (3, 224, 224), g.dense(x, 512, 1000), (1000,))


if __name__ == "__main__":
    out, root = sys.argv[1], sys.argv[2]
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else LAB + ["mobilenetv2", "vgg16", "resnet18"]
    os.makedirs(out, exist_ok=True)
    for n in names:
        m = lab_cnn(n, root) if n in LAB else {"vgg16": vgg16, "mobilenetv2": mobilenetv2, "resnet18": resnet18}[n]()
        onnx.checker.check_model(m)
        onnx.save_model(m, os.path.join(out, n + ".onnx"))
        print(f"wrote {out}/{n}.onnx", file=sys.stderr)
