#!/usr/bin/env python3
"""Writes the small ONNX test models under Tests/Fixtures/onnx with onnx.helper, and the
ONNX Runtime outputs cnnscope must match for a fixed input.

Run by hand (never from the tests): Scripts/onnx/make-fixtures, which makes a virtual
environment with onnx, onnxruntime and numpy. Each model is NCHW as exporters write it:
  convnet        Conv+Relu, MaxPool, strided Conv with asymmetric pads, BatchNorm, Flatten,
                 Gemm(transB), Softmax; dynamic batch dimension "N"; opset 13, raw_data
  depthwise      depthwise-separable block (group = channels), Clip as ReLU6 (opset 11
                 inputs), GlobalAveragePool, the exporters' Shape->Gather->Unsqueeze->Concat
                 ->Reshape classifier, MatMul + Add
  residual       residual Add, Concat, Pad, Mul by a constant, LeakyRelu, Sigmoid, Tanh,
                 MaxPool 3x3 stride 2 pad 1, AveragePool, Dropout, Identity; opset 17
  external       the convnet with every initializer in a data file beside the model
  float16        float16 initializers widened with Cast, opset 21
  bad_*          inputs the importer must refuse with a clear error
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../Tests/Fixtures/onnx")
rng = np.random.default_rng(7)


def w(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def init(name, arr):
    return numpy_helper.from_array(arr, name)


def model(nodes, inits, inp, out, opset, name):
    g = helper.make_graph(nodes, name, [inp], [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="cnnscope-fixtures")
    m.ir_version = 8
    return m


def bn(prefix, c):
    return [init(prefix + "_scale", (1 + 0.1 * rng.standard_normal(c)).astype(np.float32)),
            init(prefix + "_bias", w(c, scale=0.1)),
            init(prefix + "_mean", w(c, scale=0.1)),
            init(prefix + "_var", (0.5 + rng.random(c)).astype(np.float32))]


def convnet():
    inits = [init("c1_w", w(4, 1, 3, 3)), init("c1_b", w(4, scale=0.1)),
             init("c2_w", w(8, 4, 3, 3)), init("c2_b", w(8, scale=0.1)),
             init("fc_w", w(10, 8 * 2 * 2)), init("fc_b", w(10, scale=0.1))] + bn("bn2", 8)
    nodes = [
        helper.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2_w", "c2_b"], ["c2"], pads=[0, 0, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c2", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], ["b2"],
                         epsilon=1e-3),
        helper.make_node("Relu", ["b2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    return model(nodes, inits, inp, out, 13, "convnet"), (2, 1, 8, 8)


def depthwise():
    inits = [init("pw1_w", w(8, 3, 1, 1)), init("dw_w", w(8, 1, 3, 3)), init("pw2_w", w(6, 8, 1, 1)),
             init("fc_w", w(6, 5)), init("fc_b", w(5, scale=0.1)),
             init("zero", np.array(0, np.float32)), init("six", np.array(6, np.float32)),
             init("idx0", np.array(0, np.int64)), init("minus1", np.array([-1], np.int64))]
    inits += bn("bn1", 8) + bn("bn2", 8)
    nodes = [
        helper.make_node("Conv", ["x", "pw1_w"], ["a"], kernel_shape=[1, 1]),
        helper.make_node("BatchNormalization", ["a", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"], ["ab"]),
        helper.make_node("Clip", ["ab", "zero", "six"], ["ar"]),
        helper.make_node("Conv", ["ar", "dw_w"], ["d"], group=8, pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["d", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], ["db"]),
        helper.make_node("Clip", ["db", "zero", "six"], ["dr"]),
        helper.make_node("Conv", ["dr", "pw2_w"], ["e"]),
        helper.make_node("GlobalAveragePool", ["e"], ["g"]),
        helper.make_node("Shape", ["g"], ["gs"]),
        helper.make_node("Gather", ["gs", "idx0"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["g", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc_w"], ["mm"]),
        helper.make_node("Add", ["mm", "fc_b"], ["y"]),
    ]
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])
    return model(nodes, inits, inp, out, 11, "depthwise"), (1, 3, 8, 8)


def residual():
    inits = [init("c0_w", w(6, 3, 3, 3)), init("c1_w", w(6, 6, 3, 3)), init("c1_b", w(6, scale=0.1)),
             init("c2_w", w(4, 6, 1, 1)), init("half", np.array([0.5], np.float32)),
             init("pads", np.array([0, 0, 1, 1, 0, 0, 0, 1], np.int64)),
             init("fc_w", w(3, 10 * 2 * 2)), init("fc_b", w(3, scale=0.1))] + bn("bn0", 6)
    nodes = [
        helper.make_node("Conv", ["x", "c0_w"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c0", "bn0_scale", "bn0_bias", "bn0_mean", "bn0_var"], ["b0"]),
        helper.make_node("Relu", ["b0"], ["r0"]),
        helper.make_node("Conv", ["r0", "c1_w", "c1_b"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c1", "r0"], ["s"]),
        helper.make_node("LeakyRelu", ["s"], ["lr"], alpha=0.2),
        helper.make_node("Conv", ["lr", "c2_w"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["sg"]),
        helper.make_node("Concat", ["lr", "sg"], ["cat"], axis=1),
        helper.make_node("Mul", ["cat", "half"], ["m"]),
        helper.make_node("Tanh", ["m"], ["t"]),
        helper.make_node("Dropout", ["t"], ["dr"]),
        helper.make_node("Identity", ["dr"], ["id"]),
        helper.make_node("Pad", ["id", "pads"], ["pd"], mode="constant"),
        helper.make_node("MaxPool", ["pd"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["ap"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 7])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    return model(nodes, inits, inp, out, 17, "residual"), (2, 3, 8, 7)


def float16():
    m, shape = convnet()
    g = m.graph
    nodes = []
    for t in list(g.initializer):
        half = numpy_helper.to_array(t).astype(np.float16)
        t.CopyFrom(numpy_helper.from_array(half, t.name + "_f16"))
        nodes.append(helper.make_node("Cast", [t.name], [t.name[:-4]], to=TensorProto.FLOAT))
    rest = list(g.node)
    del g.node[:]
    g.node.extend(nodes + rest)
    del m.opset_import[:]
    m.opset_import.append(helper.make_opsetid("", 21))
    m.ir_version = 10
    return m, shape


def save_case(name, m, shape, external=False):
    path = os.path.join(OUT, name + ".onnx")
    if external:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=name + ".data", size_threshold=0)
    else:
        onnx.save_model(m, path)
    onnx.checker.check_model(path)
    import onnxruntime as ort
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.save(os.path.join(OUT, name + ".input.npy"), x)
    np.save(os.path.join(OUT, name + ".expected.npy"), y)
    print(f"{name}: input {x.shape} -> output {y.shape}, {os.path.getsize(path)} bytes")


def bad_cases():
    m, _ = convnet()
    onnx.save_model(m, os.path.join(OUT, "bad_truncated.onnx"))
    data = open(os.path.join(OUT, "bad_truncated.onnx"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.onnx"), "wb").write(data[: len(data) // 2])
    m, _ = convnet()
    keep = [t for t in m.graph.initializer if t.name != "c2_w"]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    onnx.save_model(m, os.path.join(OUT, "bad_missing_initializer.onnx"))
    m, _ = convnet()
    m.graph.node[1].op_type = "Einsum"
    onnx.save_model(m, os.path.join(OUT, "bad_unsupported_op.onnx"))
    m, _ = convnet()
    m.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"]))
    onnx.save_model(m, os.path.join(OUT, "bad_dynamic_spatial.onnx"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, make in [("convnet", convnet), ("depthwise", depthwise), ("residual", residual),
                       ("float16", float16)]:
        m, shape = make()
        save_case(name, m, shape)
    m, shape = convnet()
    save_case("external", m, shape, external=True)
    bad_cases()
