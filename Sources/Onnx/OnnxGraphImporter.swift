import Foundation
import Kernels
import Layers
import Training

/// Turns an ONNX graph (NCHW, as exporters write it) into a cnnscope graph profile (NHWC) with
/// its weights. Node by node: weights are transposed once to cnnscope's layouts, shape subgraphs
/// are folded to constants, Dropout and Identity vanish, a ReLU or Clip right after the layer
/// that alone reads it becomes that layer's activation, and batch norm stays a layer (the model
/// folds it into the convolution at inference, as for every other profile).
final class OnnxGraphImporter {
    let file: String
    let folder: URL
    let opset: Int
    let batch: Int
    private(set) var specs: [LayerSpec] = []
    private(set) var values: [String: [Float]] = [:]
    private(set) var outputsProbabilities = false
    /// How many element values of float initializers became weights.
    private(set) var weightElements = 0
    private var env: [String: OnnxValue] = [:]
    private var readers: [String: Int] = [:]
    private var usedNames: Set<String> = ["input"]
    private var graphOutputs: Set<String> = []

    init(file: String, folder: URL, opset: Int, batch: Int) {
        self.file = file; self.folder = folder; self.opset = opset; self.batch = batch
    }

    /// The model's input, the layers, and the output value.
    func run(_ g: Onnx_GraphProto) throws -> (input: [Int], output: OnnxRuntimeTensor) {
        for t in g.initializer { env[t.name] = .constant(try OnnxConstant(t, folder: folder, file: file)) }
        let input = try modelInput(g)
        env[input.name] = .runtime(
            OnnxRuntimeTensor(
                layer: "input", shape: input.shape, onnxShape: [batch, input.shape[2]] + input.shape[0..<2]))
        for n in g.node { for i in n.input where !i.isEmpty { readers[i, default: 0] += 1 } }
        for o in g.output { readers[o.name, default: 0] += 1 }
        graphOutputs = Set(g.output.map(\.name))
        guard g.output.count == 1 else {
            throw OnnxError("\(file): the graph has \(g.output.count) outputs; cnnscope runs models with one")
        }
        for n in g.node { try importNode(n) }
        guard case .runtime(let out)? = env[g.output[0].name] else {
            throw OnnxError("\(file): the output '\(g.output[0].name)' is not computed from the input")
        }
        guard out.layer == specs.last?.name else {
            throw OnnxError("\(file): the output '\(g.output[0].name)' is not the last layer's; unused branches?")
        }
        return (input.shape, out)
    }

    /// The one input that is not an initializer: (N, C, H, W) with C, H, W fixed; N may be symbolic.
    private func modelInput(_ g: Onnx_GraphProto) throws -> (name: String, shape: [Int]) {
        let initialised = Set(g.initializer.map(\.name))
        let real = g.input.filter { !initialised.contains($0.name) }
        guard real.count == 1, let x = real.first else {
            throw OnnxError(
                "\(file): the graph has \(real.count) inputs besides its weights; cnnscope needs one image input")
        }
        let dims = x.type.tensorType.shape.dim
        guard dims.count == 4 else {
            throw OnnxError("\(file): input '\(x.name)' has rank \(dims.count); cnnscope takes images as (N, C, H, W)")
        }
        for (i, d) in dims.enumerated().dropFirst() {
            guard case .dimValue(let v)? = d.value, v > 0 else {
                let what = d.dimParam.isEmpty ? "unknown" : "'\(d.dimParam)'"
                throw OnnxError(
                    """
                    \(file): input '\(x.name)' dimension \(i) (\(["N", "C", "H", "W"][i])) is \(what), not a number; \
                    cnnscope needs fixed channels, height and width: export the model with a fixed input size
                    """)
            }
        }
        let v = dims.map { Int($0.dimValue) }
        return (x.name, [v[2], v[3], v[1]])
    }

    // MARK: - Helpers

    private func fail(_ n: Onnx_NodeProto, _ why: String) -> OnnxError { OnnxError.node(file, n, opset: opset, why) }

    private func runtime(_ n: Onnx_NodeProto, _ i: Int) throws -> OnnxRuntimeTensor {
        guard let name = n.input(i) else { throw fail(n, "input \(i) is missing") }
        switch env[name] {
        case .runtime(let t)?: return t
        case .constant?: throw fail(n, "input '\(name)' is a constant where cnnscope expects a computed tensor")
        case nil: throw fail(n, "input '\(name)' is neither an initializer nor an earlier node's output")
        }
    }

    private func constant(_ n: Onnx_NodeProto, _ i: Int) throws -> OnnxConstant {
        guard let name = n.input(i) else { throw fail(n, "input \(i) is missing") }
        switch env[name] {
        case .constant(let c)?: return c
        case .runtime?: throw fail(n, "input '\(name)' must be a constant (an initializer), but is computed")
        case nil: throw fail(n, "initializer '\(name)' is missing from the model")
        }
    }

    private func isConstant(_ n: Onnx_NodeProto, _ i: Int) -> Bool {
        if let name = n.input(i), case .constant? = env[name] { return true }
        return false
    }

    private func set(_ n: Onnx_NodeProto, _ v: OnnxValue) { if let o = n.output.first { env[o] = v } }

    /// A unique layer name from the node's name or output.
    private func layerName(_ n: Onnx_NodeProto) -> String {
        let base = (n.name.isEmpty ? (n.output.first ?? n.opType) : n.name)
        var s = String(base.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" ? $0 : "_" })
        while s.hasPrefix("_") { s.removeFirst() }
        if s.isEmpty { s = n.opType.lowercased() }
        var name = s, k = 1
        while usedNames.contains(name) {
            name = "\(s)_\(k)"
            k += 1
        }
        usedNames.insert(name)
        return name
    }

    /// Appends a layer that reads `from` and gives `shape` (cnnscope's) / `onnxShape`.
    @discardableResult
    private func append(
        _ spec: LayerSpec, from: [OnnxRuntimeTensor], node n: Onnx_NodeProto, shape: [Int], onnxShape: [Int]
    ) -> OnnxRuntimeTensor {
        var s = spec
        s.inputs = from.map(\.layer)
        specs.append(s)
        let t = OnnxRuntimeTensor(layer: s.name, shape: shape, onnxShape: onnxShape)
        set(n, .runtime(t))
        return t
    }

    private func weights(_ layer: String, _ param: String, _ v: [Float]) {
        values["\(layer)/\(param)"] = v
        weightElements += v.count
    }

    /// The spec that alone produces `t` and may take an activation (conv, depthwise, dense, linear).
    private func fusableProducer(of t: OnnxRuntimeTensor, value: String) -> Int? {
        guard readers[value] == 1, !graphOutputs.contains(value),
            let i = specs.lastIndex(where: { $0.name == t.layer }),
            [.conv2D, .depthwiseConv2D, .dense].contains(specs[i].type), (specs[i].activation ?? .linear) == .linear,
            t.pendingDense == nil
        else { return nil }
        return i
    }

    // MARK: - Nodes

    private func importNode(_ n: Onnx_NodeProto) throws {
        guard n.domain.isEmpty || n.domain == "ai.onnx" else {
            throw fail(n, "operators of domain '\(n.domain)' are not supported (only the default ONNX domain)")
        }
        if try OnnxConstantFolder.fold(n, env: &env, importer: self) { return }
        switch n.opType {
        case "Identity", "Dropout", "Cast":
            if n.opType == "Cast" && n.int("to", default: 1) != 1 {
                throw fail(n, "a computed tensor can only be cast to float")
            }
            set(n, .runtime(try runtime(n, 0)))
        case "Conv": try conv(n)
        case "BatchNormalization": try batchNorm(n)
        case "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Elu": try activation(n)
        case "Softmax": try softmax(n)
        case "Add", "Sub", "Mul", "Div": try arithmetic(n)
        case "MaxPool", "AveragePool": try pool(n)
        case "GlobalAveragePool", "ReduceMean": try globalAverage(n)
        case "Flatten", "Reshape", "Squeeze": try flatten(n)
        case "Gemm", "MatMul": try dense(n)
        case "Concat": try concat(n)
        case "Pad": try pad(n)
        case "Resize", "Upsample": try resize(n)
        default:
            throw fail(
                n,
                """
                unsupported operator (cnnscope maps Conv, BatchNormalization, Relu, Clip, LeakyRelu, Sigmoid, Tanh, \
                Elu, Softmax, Add, Mul, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Gemm, MatMul, \
                Concat, Pad, Resize, Dropout, Identity and shape subgraphs)
                """)
        }
    }

    /// Keras "same" padding for one axis: (begin, end) with the smaller half first.
    static func samePadding(size: Int, kernel: Int, stride: Int) -> (Int, Int) {
        let out = (size + stride - 1) / stride
        let total = max((out - 1) * stride + kernel - size, 0)
        return (total / 2, total - total / 2)
    }

    /// (top, bottom, left, right) from `pads` or `auto_pad`.
    private func padding(_ n: Onnx_NodeProto, map: [Int], kernel: [Int], strides: [Int]) throws -> [Int] {
        switch n.string("auto_pad", default: "NOTSET") {
        case "NOTSET":
            let p = n.ints("pads") ?? [0, 0, 0, 0]
            guard p.count == 4, p.allSatisfy({ $0 >= 0 }) else { throw fail(n, "pads must be 4 non-negative values") }
            return [p[0], p[2], p[1], p[3]]
        case "VALID": return [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            let h = Self.samePadding(size: map[0], kernel: kernel[0], stride: strides[0])
            let w = Self.samePadding(size: map[1], kernel: kernel[1], stride: strides[1])
            return mode == "SAME_UPPER" ? [h.0, h.1, w.0, w.1] : [h.1, h.0, w.1, w.0]
        case let mode: throw fail(n, "auto_pad '\(mode)' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
    }

    private func spatial(_ n: Onnx_NodeProto, _ t: OnnxRuntimeTensor) throws {
        guard t.shape.count == 3 else {
            throw fail(n, "needs an image tensor (N, C, H, W), got ONNX shape \(t.onnxShape)")
        }
    }

    private func conv(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0), w = try constant(n, 1)
        try spatial(n, x)
        guard w.dims.count == 4, let wf = w.floats else {
            throw fail(n, "the weight must be a float (K, C, R, S) tensor")
        }
        let (K, Cg, R, S) = (w.dims[0], w.dims[1], w.dims[2], w.dims[3])
        let C = x.shape[2], group = n.int("group", default: 1)
        guard (n.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else {
            throw fail(n, "dilations other than 1 are not supported")
        }
        let strides = n.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1 else {
            throw fail(n, "strides \(strides) are not supported (one stride for both axes only)")
        }
        let depthwise = group == C && group > 1
        guard group == 1 || (depthwise && Cg == 1 && K == C) else {
            throw fail(n, "group = \(group) is not supported (1, or the channel count with one filter each)")
        }
        guard depthwise || Cg == C else { throw fail(n, "the weight expects \(Cg) input channels, the input has \(C)") }
        let pads = try padding(n, map: x.shape, kernel: [R, S], strides: strides)
        var src = x
        var padding = Padding.valid
        let same = [
            Self.samePadding(size: x.shape[0], kernel: R, stride: strides[0]),
            Self.samePadding(size: x.shape[1], kernel: S, stride: strides[0]),
        ]
        if pads == [same[0].0, same[0].1, same[1].0, same[1].1] && pads != [0, 0, 0, 0] {
            padding = .same
        } else if pads != [0, 0, 0, 0] {
            src = try zeroPad(n, x, pads)
        }
        let name = layerName(n)
        var spec = LayerSpec(name: name, type: depthwise ? .depthwiseConv2D : .conv2D)
        spec.kernelSize = [R, S]
        spec.strides = strides[0]
        spec.padding = padding
        spec.filters = depthwise ? nil : K
        spec.activation = .linear
        let bias = try n.input(2).map { _ in try constant(n, 2) }
        spec.useBias = bias != nil
        var kernel = [Float](repeating: 0, count: wf.count)
        if depthwise {  // (C, 1, R, S) -> (R, S, C, 1)
            for c in 0..<C {
                for r in 0..<R { for s in 0..<S { kernel[(r * S + s) * C + c] = wf[(c * R + r) * S + s] } }
            }
        } else {  // (K, C, R, S) -> (R, S, C, K)
            for k in 0..<K {
                for c in 0..<C {
                    for r in 0..<R {
                        for s in 0..<S { kernel[((r * S + s) * C + c) * K + k] = wf[((k * C + c) * R + r) * S + s] }
                    }
                }
            }
        }
        weights(name, depthwise ? "depthwise_kernel" : "kernel", kernel)
        if let b = bias {
            guard b.count == K else { throw fail(n, "the bias has \(b.count) values for \(K) filters") }
            weights(name, "bias", b.values)
        }
        let P = padding == .same ? (src.shape[0] + strides[0] - 1) / strides[0] : (src.shape[0] - R) / strides[0] + 1
        let Q = padding == .same ? (src.shape[1] + strides[0] - 1) / strides[0] : (src.shape[1] - S) / strides[0] + 1
        guard P >= 1, Q >= 1 else { throw fail(n, "the \(R)x\(S) kernel does not fit the \(src.shape) map") }
        append(spec, from: [src], node: n, shape: [P, Q, K], onnxShape: [batch, K, P, Q])
    }

    /// A ZeroPadding2D layer in front of a convolution or pooling whose padding is not Keras's.
    private func zeroPad(_ n: Onnx_NodeProto, _ x: OnnxRuntimeTensor, _ p: [Int]) throws -> OnnxRuntimeTensor {
        var spec = LayerSpec(name: layerName(n) + "_pad", type: .zeroPadding2D)
        usedNames.insert(spec.name)
        spec.pad = p
        spec.inputs = [x.layer]
        specs.append(spec)
        let shape = [x.shape[0] + p[0] + p[1], x.shape[1] + p[2] + p[3], x.shape[2]]
        return OnnxRuntimeTensor(layer: spec.name, shape: shape, onnxShape: [batch, shape[2], shape[0], shape[1]])
    }

    private func batchNorm(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        let c = x.shape.last!
        let parts = try (1...4).map { i in try constant(n, i) }
        guard parts.allSatisfy({ $0.count == c }) else {
            throw fail(n, "scale, bias, mean and variance must have \(c) values each (the channels)")
        }
        let name = layerName(n)
        var spec = LayerSpec(name: name, type: .batchNormalization)
        spec.epsilon = n.float("epsilon", default: 1e-5)
        spec.momentum = n.float("momentum", default: 0.9)
        for (p, param) in zip(parts, ["gamma", "beta", "moving_mean", "moving_variance"]) {
            weights(name, param, p.values)
        }
        append(spec, from: [x], node: n, shape: x.shape, onnxShape: x.onnxShape)
    }

    private func activation(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        let act: Activation
        switch n.opType {
        case "Relu": act = .relu
        case "Sigmoid": act = .sigmoid
        case "Tanh": act = .tanh
        case "Elu":
            guard n.float("alpha", default: 1) == 1 else { throw fail(n, "only alpha = 1 is supported") }
            act = .elu
        case "LeakyRelu":
            let alpha = n.float("alpha", default: 0.01)
            guard abs(alpha - Activation.leakySlope) < 1e-6 else {
                throw fail(n, "alpha \(alpha) is not supported (cnnscope's leaky ReLU has Keras's slope 0.2)")
            }
            act = .leakyRelu
        default:  // Clip: bounds as attributes before opset 11, as inputs from 11
            let lo =
                try opset < 11
                ? n.float("min", default: -.infinity)
                : (n.input(1).map { _ in try constant(n, 1).values[0] } ?? -.infinity)
            let hi =
                try opset < 11
                ? n.float("max", default: .infinity)
                : (n.input(2).map { _ in try constant(n, 2).values[0] } ?? .infinity)
            guard lo == 0, hi == 6 || hi == .infinity || hi >= Float.greatestFiniteMagnitude else {
                throw fail(n, "Clip(\(lo), \(hi)) is not supported (Clip(0, 6) is ReLU6 and Clip(0, ∞) ReLU)")
            }
            act = hi == 6 ? .relu6 : .relu
        }
        if let i = fusableProducer(of: x, value: n.input[0]) {
            specs[i].activation = act
            set(n, .runtime(x))
            return
        }
        var spec = LayerSpec(name: layerName(n), type: .activation)
        spec.activation = act
        append(spec, from: [x], node: n, shape: x.shape, onnxShape: x.onnxShape)
    }

    private func softmax(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        guard x.shape.count == 1 else { throw fail(n, "softmax is supported over the features of a flat tensor only") }
        if let o = n.output.first, graphOutputs.contains(o) {
            outputsProbabilities = true  // fused into the loss; `infer` applies it
            set(n, .runtime(x))
            return
        }
        var spec = LayerSpec(name: layerName(n), type: .activation)
        spec.activation = .softmax
        append(spec, from: [x], node: n, shape: x.shape, onnxShape: x.onnxShape)
    }

    private func arithmetic(_ n: Onnx_NodeProto) throws {
        if !isConstant(n, 0) && !isConstant(n, 1) {
            guard n.opType == "Add" else { throw fail(n, "\(n.opType) of two computed tensors is not supported") }
            let a = try runtime(n, 0), b = try runtime(n, 1)
            guard a.shape == b.shape else {
                throw fail(n, "Add needs inputs of one shape, got \(a.onnxShape) and \(b.onnxShape)")
            }
            append(
                LayerSpec(name: layerName(n), type: .add), from: [a, b], node: n, shape: a.shape, onnxShape: a.onnxShape
            )
            return
        }
        let constantFirst = isConstant(n, 0)
        let x = try runtime(n, constantFirst ? 1 : 0), c = try constant(n, constantFirst ? 0 : 1)
        if n.opType == "Add", let d = x.pendingDense, c.count == x.shape[0], x.shape.count == 1 {
            weights(specs[d].name, "bias", c.values)  // MatMul + Add: the Dense layer's bias
            var t = x
            t.pendingDense = nil
            set(n, .runtime(t))
            return
        }
        guard c.isScalarLike, let v = c.values.first else {
            throw fail(n, "\(n.opType) by a constant is supported for one value only, got shape \(c.dims)")
        }
        guard !(constantFirst && (n.opType == "Sub" || n.opType == "Div")) else {
            throw fail(n, "a constant \(n.opType == "Sub" ? "minus" : "divided by") a computed tensor is not supported")
        }
        var spec = LayerSpec(name: layerName(n), type: .rescaling)
        switch n.opType {
        case "Add": (spec.scale, spec.offset) = (1, v)
        case "Sub": (spec.scale, spec.offset) = (1, -v)
        case "Mul": (spec.scale, spec.offset) = (v, 0)
        default:
            guard v != 0 else { throw fail(n, "division by zero") }
            (spec.scale, spec.offset) = (1 / v, 0)
        }
        append(spec, from: [x], node: n, shape: x.shape, onnxShape: x.onnxShape)
    }

    private func pool(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        try spatial(n, x)
        guard let window = n.ints("kernel_shape"), window.count == 2 else {
            throw fail(n, "kernel_shape must have 2 values")
        }
        guard n.int("ceil_mode", default: 0) == 0 else { throw fail(n, "ceil_mode = 1 is not supported") }
        guard (n.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail(n, "dilations must be 1") }
        let strides = n.ints("strides") ?? [1, 1]
        let pads = try padding(n, map: x.shape, kernel: window, strides: strides)
        let isMax = n.opType == "MaxPool"
        var spec = LayerSpec(name: layerName(n), type: isMax ? .maxPooling2D : .averagePooling2D)
        spec.kernelSize = window
        spec.poolSize = window[0]
        spec.windowStrides = strides
        spec.pad = pads
        spec.countIncludePad = !isMax && n.int("count_include_pad", default: 0) == 1
        let P = (x.shape[0] + pads[0] + pads[1] - window[0]) / strides[0] + 1
        let Q = (x.shape[1] + pads[2] + pads[3] - window[1]) / strides[1] + 1
        guard P >= 1, Q >= 1 else { throw fail(n, "the window does not fit the \(x.shape) map") }
        append(spec, from: [x], node: n, shape: [P, Q, x.shape[2]], onnxShape: [batch, x.shape[2], P, Q])
    }

    private func globalAverage(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        try spatial(n, x)
        var keep = true
        if n.opType == "ReduceMean" {
            let axes =
                try opset < 18
                ? (n.ints("axes") ?? []) : (n.input(1).map { _ in try constant(n, 1).integers.map(Int.init) } ?? [])
            guard Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
                throw fail(n, "ReduceMean is supported over the spatial axes (2, 3) only, got \(axes)")
            }
            keep = n.int("keepdims", default: 1) == 1
        }
        let c = x.shape[2]
        append(
            LayerSpec(name: layerName(n), type: .globalAveragePooling2D), from: [x], node: n, shape: [c],
            onnxShape: keep ? [batch, c, 1, 1] : [batch, c])
    }

    /// Flatten, and the Reshape / Squeeze that only flatten (the classifier's).
    private func flatten(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        let features = x.shape.reduce(1, *)
        var target: [Int]
        switch n.opType {
        case "Flatten":
            guard n.int("axis", default: 1) == 1 else { throw fail(n, "only axis = 1 is supported") }
            target = [batch, features]
        case "Squeeze":
            let axes =
                try opset < 13
                ? (n.ints("axes") ?? []) : (n.input(1).map { _ in try constant(n, 1).integers.map(Int.init) } ?? [])
            let drop = Set(
                axes.isEmpty
                    ? x.onnxShape.indices.filter { x.onnxShape[$0] == 1 && $0 > 0 }
                    : axes.map { $0 < 0 ? $0 + x.onnxShape.count : $0 })
            target = x.onnxShape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        default:
            let c = try constant(n, 1).integers.map(Int.init)
            target = c.enumerated().map {
                $0.element == 0 && $0.offset < x.onnxShape.count ? x.onnxShape[$0.offset] : $0.element
            }
            if let i = target.firstIndex(of: -1) {
                let known = target.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
                target[i] = known > 0 ? batch * features / known : 0
            }
        }
        guard target.count == 2, target[0] == batch, target[1] == features else {
            if target == x.onnxShape { set(n, .runtime(x)); return }
            throw fail(n, "reshaping \(x.onnxShape) to \(target) is supported only as a flatten to (N, \(features))")
        }
        if x.shape.count == 1 {
            var t = x
            t.onnxShape = target
            set(n, .runtime(t))
            return
        }
        var t = append(
            LayerSpec(name: layerName(n), type: .flatten), from: [x], node: n, shape: [features], onnxShape: target)
        if x.shape[0] * x.shape[1] > 1 { t.flattenedFrom = x.shape }
        set(n, .runtime(t))
    }

    private func dense(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0), w = try constant(n, 1)
        guard x.shape.count == 1, x.onnxShape.count == 2 else {
            throw fail(n, "needs a flat (N, F) input, got \(x.onnxShape); flatten it first")
        }
        guard w.dims.count == 2, let wf = w.floats else { throw fail(n, "the weight must be a 2-D float constant") }
        let isGemm = n.opType == "Gemm"
        guard !isGemm || n.int("transA", default: 0) == 0 else { throw fail(n, "transA = 1 is not supported") }
        let transB = isGemm && n.int("transB", default: 0) == 1
        let (F, U) = transB ? (w.dims[1], w.dims[0]) : (w.dims[0], w.dims[1])
        guard F == x.shape[0] else { throw fail(n, "the weight takes \(F) features, the input has \(x.shape[0])") }
        let alpha = isGemm ? n.float("alpha", default: 1) : 1, beta = isGemm ? n.float("beta", default: 1) : 1
        let name = layerName(n)
        var spec = LayerSpec(name: name, type: .dense)
        spec.units = U
        spec.activation = .linear
        // cnnscope's feature j of a flattened (H, W, C) map is ONNX's feature c·H·W + h·W + w.
        var row = Array(0..<F)
        if let m = x.flattenedFrom {
            let (H, W, C) = (m[0], m[1], m[2])
            row = (0..<F).map { j in
                let c = j % C, hw = j / C; return c * H * W + (hw / W) * W + hw % W
            }
        }
        var kernel = [Float](repeating: 0, count: F * U)
        for j in 0..<F {
            let r = row[j]
            for u in 0..<U { kernel[j * U + u] = alpha * (transB ? wf[u * F + r] : wf[r * U + u]) }
        }
        weights(name, "kernel", kernel)
        if isGemm, n.input(2) != nil {
            let c = try constant(n, 2)
            guard c.count == U || c.count == 1 else { throw fail(n, "C has \(c.count) values for \(U) outputs") }
            weights(
                name, "bias", c.count == 1 ? Array(repeating: beta * c.values[0], count: U) : c.values.map { beta * $0 }
            )
        } else {
            values["\(name)/bias"] = [Float](repeating: 0, count: U)  // Dense always has one; ONNX had none
        }
        var t = append(spec, from: [x], node: n, shape: [U], onnxShape: [batch, U])
        if !isGemm { t.pendingDense = specs.count - 1 }
        set(n, .runtime(t))
    }

    private func concat(_ n: Onnx_NodeProto) throws {
        let xs = try n.input.indices.map { try runtime(n, $0) }
        let rank = xs[0].onnxShape.count
        var axis = n.int("axis", default: 1)
        if axis < 0 { axis += rank }
        guard axis == 1, xs.allSatisfy({ $0.shape.count == xs[0].shape.count }) else {
            throw fail(n, "Concat is supported along the channels (axis 1) only, got axis \(axis)")
        }
        guard xs.allSatisfy({ $0.shape.dropLast() == xs[0].shape.dropLast() }) else {
            throw fail(n, "the inputs' spatial sizes differ: \(xs.map(\.onnxShape))")
        }
        let c = xs.reduce(0) { $0 + $1.shape.last! }
        let shape = xs[0].shape.dropLast() + [c]
        var onnx = xs[0].onnxShape
        onnx[1] = c
        append(
            LayerSpec(name: layerName(n), type: .concatenate), from: xs, node: n, shape: Array(shape), onnxShape: onnx)
    }

    private func pad(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        try spatial(n, x)
        guard n.string("mode", default: "constant") == "constant" else {
            throw fail(n, "only constant padding is supported")
        }
        let p = try opset < 11 ? (n.ints("pads") ?? []) : constant(n, 1).integers.map(Int.init)
        let value =
            try opset < 11
            ? n.float("value", default: 0) : (n.input(2).map { _ in try constant(n, 2).values.first ?? 0 } ?? 0)
        guard p.count == 8, value == 0 else {
            throw fail(n, "pads must be 8 values (N, C, H, W begin then end) with value 0")
        }
        guard p[0] == 0, p[1] == 0, p[4] == 0, p[5] == 0, p.allSatisfy({ $0 >= 0 }) else {
            throw fail(n, "only non-negative padding of height and width is supported, got \(p)")
        }
        var spec = LayerSpec(name: layerName(n), type: .zeroPadding2D)
        spec.pad = [p[2], p[6], p[3], p[7]]
        let shape = [x.shape[0] + p[2] + p[6], x.shape[1] + p[3] + p[7], x.shape[2]]
        append(spec, from: [x], node: n, shape: shape, onnxShape: [batch, shape[2], shape[0], shape[1]])
    }

    private func resize(_ n: Onnx_NodeProto) throws {
        let x = try runtime(n, 0)
        try spatial(n, x)
        let mode = n.string("mode", default: "nearest")
        guard mode == "linear" || mode == "bilinear" else {
            throw fail(n, "only linear (bilinear) resizing is supported, got '\(mode)'")
        }
        let coords = n.string("coordinate_transformation_mode", default: "half_pixel")
        guard coords == "half_pixel" || coords == "pytorch_half_pixel" else {
            throw fail(n, "coordinate_transformation_mode '\(coords)' is not supported (half_pixel only)")
        }
        var size: [Int]
        let (scalesInput, sizesInput) = n.opType == "Upsample" || opset < 11 ? (1, -1) : (2, 3)
        if sizesInput > 0, n.input(sizesInput) != nil {
            size = try constant(n, sizesInput).integers.map(Int.init)
        } else {
            let s = try constant(n, scalesInput).values
            guard s.count == 4 else { throw fail(n, "scales must have 4 values") }
            size = x.onnxShape.enumerated().map { Int((Float($0.element) * s[$0.offset]).rounded(.down)) }
        }
        guard size.count == 4, size[0] == batch, size[1] == x.shape[2] else {
            throw fail(n, "only the height and width may be resized, got \(x.onnxShape) to \(size)")
        }
        var spec = LayerSpec(name: layerName(n), type: .resizing)
        spec.size = [size[2], size[3]]
        append(spec, from: [x], node: n, shape: [size[2], size[3], x.shape[2]], onnxShape: size)
    }
}
