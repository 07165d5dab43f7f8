#!/usr/bin/env python3
"""Writes Profiles/models/mobilenetv2.yaml and vgg16.yaml: the Keras applications'
architectures (include_top=False), layer for layer with Keras's layer names, so Keras weight
files import by name. Run once; the YAML files are the data cnnscope reads (edit them, not this)."""
import os, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Profiles", "models")
HEAD = """head:
  - {name: global_average_pooling2d, type: GlobalAveragePooling2D}
  - {name: dense, type: Dense, units: 256, activation: relu}
  - {name: dropout, type: Dropout, rate: 0.3}
  - {name: dense_1, type: Dense, units: 0, activation: softmax}   # units 0: the number of classes
"""

def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v

def mobilenetv2():
    L = []
    def add(**kw):
        items = ", ".join(f"{k}: {fmt(v)}" for k, v in kw.items())
        L.append("  - {" + items + "}")
    def fmt(v):
        if isinstance(v, bool): return "true" if v else "false"
        if isinstance(v, list): return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)
    BN = dict(epsilon=0.001, momentum=0.999)
    add(name="Conv1", type="Conv2D", filters=32, kernel_size=3, strides=2, padding="same", use_bias=False)
    add(name="bn_Conv1", type="BatchNormalization", **BN)
    add(name="Conv1_relu", type="ReLU", max_value=6)
    channels = 32
    last = "Conv1_relu"
    blocks = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
              (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
              (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]
    for bid, (filters, stride, expansion) in enumerate(blocks):
        block_in = last
        pw = make_divisible(filters)
        if bid:
            p = f"block_{bid}_"
            add(name=p + "expand", type="Conv2D", filters=expansion * channels, kernel_size=1, padding="same",
                use_bias=False)
            add(name=p + "expand_BN", type="BatchNormalization", **BN)
            add(name=p + "expand_relu", type="ReLU", max_value=6)
        else:
            p = "expanded_conv_"
        if stride == 2:
            add(name=p + "pad", type="ZeroPadding2D", padding="correct")
        add(name=p + "depthwise", type="DepthwiseConv2D", kernel_size=3, strides=stride,
            padding="same" if stride == 1 else "valid", use_bias=False)
        add(name=p + "depthwise_BN", type="BatchNormalization", **BN)
        add(name=p + "depthwise_relu", type="ReLU", max_value=6)
        add(name=p + "project", type="Conv2D", filters=pw, kernel_size=1, padding="same", use_bias=False)
        add(name=p + "project_BN", type="BatchNormalization", **BN)
        last = p + "project_BN"
        if channels == pw and stride == 1:
            add(name=p + "add", type="Add", inputs=[block_in, last])
            last = p + "add"
        channels = pw
    add(name="Conv_1", type="Conv2D", filters=1280, kernel_size=1, use_bias=False)
    add(name="Conv_1_bn", type="BatchNormalization", **BN)
    add(name="out_relu", type="ReLU", max_value=6)
    text = f"""# MobileNetV2 (alpha 1.0) as keras.applications.MobileNetV2(include_top=False), 224x224x3.
# Layer names are Keras's, so weight files (mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5)
# import by name. Parameters as Keras reports them: 2,257,984 (34,112 non-trainable: batch-norm statistics).
# The first layer rescales [0, 1] pixels to [-1, 1], as keras.applications.mobilenet_v2.preprocess_input does.
# Written by Scripts/profiles/make-imagenet-profiles.py.
name: mobilenetv2
description: "MobileNetV2 (alpha 1.0, no top): inverted residual blocks of 1x1 expand, 3x3 depthwise and 1x1 project convolutions with ReLU6 and residual adds."
input_shape: [224, 224, 3]
optimizer: adam
learning_rate: 0.001
layers:
  - {{name: preprocess, type: Rescaling, scale: 2, offset: -1}}
""" + "\n".join(L) + "\n" + HEAD
    open(os.path.join(root, "mobilenetv2.yaml"), "w").write(text)

def vgg16():
    L = []
    cfg = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    for b, (f, n) in enumerate(cfg, 1):
        for i in range(1, n + 1):
            L.append(f"  - {{name: block{b}_conv{i}, type: Conv2D, filters: {f}, kernel_size: 3, padding: same, "
                     "activation: relu}")
        L.append(f"  - {{name: block{b}_pool, type: MaxPooling2D, pool_size: 2}}")
    text = """# VGG16 as keras.applications.VGG16(include_top=False), 224x224x3: 13 3x3 convolutions in five blocks.
# Layer names are Keras's (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 imports by name).
# Parameters as Keras reports them: 14,714,688.
# The first layer scales [0, 1] pixels to 0..255 and subtracts the ImageNet mean (caffe-style
# preprocessing; the channel order is left RGB, a difference from Keras's BGR noted in the README).
# Written by Scripts/profiles/make-imagenet-profiles.py.
name: vgg16
description: "VGG16 (no top): five blocks of 3x3 convolutions (64 to 512 filters) with 2x2 max pooling."
input_shape: [224, 224, 3]
optimizer: adam
learning_rate: 0.001
layers:
  - {name: preprocess, type: Rescaling, scale: 255, offset: -116.8}
""" + "\n".join(L) + "\n" + HEAD
    open(os.path.join(root, "vgg16.yaml"), "w").write(text)

mobilenetv2()
vgg16()
print("wrote mobilenetv2.yaml and vgg16.yaml under", os.path.normpath(root))
