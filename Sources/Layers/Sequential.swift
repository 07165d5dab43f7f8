import Kernels
import Tensor

/// A model: layers run in order, each reading the output of the layer before it, or a directed
/// acyclic graph when layers name their inputs (MobileNetV2's residual Add). Layers are kept in
/// a topological order, so the profiler's per-index hooks see one layer at a time either way.
public final class Sequential {
    public let name: String
    public let inputShape: [Int]
    public private(set) var layers: [Layer]
    /// For each layer, the layers it reads (indices; −1 is the model's input).
    public let inputs: [[Int]]
    public weak var observer: LayerObserver?
    /// How many layers read each layer's output (the model's output counts one reader).
    let consumers: [Int]
    private var gradientSums: [BufferCache]
    /// Where inference activations live with `RunContext.reusesActivationMemory`.
    public let activationArena = ActivationArena()
    private let finalOutput = BufferCache()

    /// A plain stack: each layer reads the one before it. `inferenceFolding` off leaves the
    /// layers' folding state alone (a model that shares layers with another, as the int8 copy).
    public init(name: String, inputShape: [Int], layers: [Layer], inferenceFolding: Bool = true) {
        self.name = name
        self.inputShape = inputShape
        self.layers = layers
        inputs = layers.indices.map { [$0 - 1] }
        consumers = Self.countConsumers(inputs)
        gradientSums = layers.map { _ in BufferCache() }
        if inferenceFolding {
            updateGradientFlow()
            fuseReluIntoMaxPool(true)
            foldBatchNormForInference(true)
        }
    }

    /// A graph: `inputs[i]` lists the layers layer i reads, all earlier than i (−1: the model's
    /// input). Shapes must agree; the last layer is the output.
    public init(name: String, inputShape: [Int], layers: [Layer], inputs: [[Int]]) throws {
        guard inputs.count == layers.count else {
            throw TensorError.invalidDimension("model \(name): \(layers.count) layers but \(inputs.count) input lists")
        }
        for (i, (l, srcs)) in zip(layers, inputs).enumerated() {
            let want = (l as? MergeLayer)?.inputCount ?? 1
            guard srcs.count == want else {
                throw TensorError.invalidDimension(
                    "model \(name): layer \(l.name) takes \(want) input(s), got \(srcs.count)")
            }
            // A Concatenate declares one shape per input; every other layer one for all.
            let expected = (l as? ConcatenateLayer)?.inputShapes ?? Array(repeating: l.inputShape, count: srcs.count)
            for (s, expectedShape) in zip(srcs, expected) {
                guard s >= -1 && s < i else {
                    throw TensorError.invalidDimension(
                        "model \(name): layer \(l.name) reads a layer that is not before it")
                }
                let shape = s < 0 ? inputShape : layers[s].outputShape
                guard shape == expectedShape else {
                    throw TensorError.invalidDimension(
                        """
                        model \(name): layer \(l.name) expects input \(expectedShape), but \
                        \(s < 0 ? "the model input" : layers[s].name) gives \(shape)
                        """
                    )
                }
            }
        }
        self.name = name
        self.inputShape = inputShape
        self.layers = layers
        self.inputs = inputs
        consumers = Self.countConsumers(inputs)
        gradientSums = layers.map { _ in BufferCache() }
        updateGradientFlow()
        fuseReluIntoMaxPool(true)
        foldBatchNormForInference(true)
    }

    static func countConsumers(_ inputs: [[Int]]) -> [Int] {
        var c = [Int](repeating: 0, count: inputs.count)
        for srcs in inputs { for s in srcs where s >= 0 { c[s] += 1 } }
        if !c.isEmpty { c[c.count - 1] += 1 }
        return c
    }

    /// Whether the model is a plain chain (every layer reads the one before).
    public var isChain: Bool { inputs.enumerated().allSatisfy { $0.element == [$0.offset - 1] } }

    /// Conv2D(relu) followed by max pooling: the pool drops the gradient where the max is 0,
    /// which is exactly ReLU's derivative at the routed element, so the convolution skips its
    /// own pass over the (large) activation gradient. Where the pooling is 2x2 and the
    /// convolution has a short receptive field (a first layer), the two also run as one kernel
    /// (`Conv2DLayer.fusedMaxPool`). Off gives the plain layer-by-layer path.
    public func fuseReluIntoMaxPool(_ on: Bool) {
        for (i, l) in layers.enumerated() {
            guard let pool = l as? PoolingLayer, inputs[i].count == 1, inputs[i][0] >= 0 else { continue }
            let src = inputs[i][0]
            guard let conv = layers[src] as? Conv2DLayer else { continue }
            let fuse = on && conv.activation == .relu && pool.type == .max && consumers[src] == 1
            conv.activationGradientFused = fuse
            pool.appliesReluGradient = fuse
            let oneKernel =
                fuse && pool.pool == 2 && ConvReluMaxPool.supports(conv.geometry, options: conv.options)
                && pool.outputShape == [conv.geometry.p / 2, conv.geometry.q / 2, conv.geometry.k]
            conv.fusedMaxPool = oneKernel ? pool : nil
        }
    }

    /// Convolution → batch norm (→ activation), each read only by the next: at inference the
    /// convolution runs with the batch norm folded into its weights and applies the activation
    /// itself; the folded layers pass their input through (`InferenceFold`). A zero padding read
    /// only by a depthwise convolution becomes that convolution's own padding. Training is
    /// unchanged. Off gives the plain layer-by-layer inference path.
    public func foldBatchNormForInference(_ on: Bool) {
        for l in layers {
            (l as? Conv2DLayer)?.fold = nil
            (l as? DepthwiseConv2DLayer)?.fold = nil
            (l as? DepthwiseConv2DLayer)?.absorbedPadding = nil
            if let f = l as? FoldableIntoConvolution { f.foldedInto = nil }
        }
        guard on else { fuseInvertedResiduals(false); return }
        // Zero padding read only by a depthwise convolution: the convolution reads it as its own.
        for (i, l) in layers.enumerated() {
            guard let pad = l as? ZeroPadding2DLayer, consumers[i] == 1, let j = inputs.firstIndex(of: [i]),
                let dw = layers[j] as? DepthwiseConv2DLayer
            else { continue }
            dw.absorbedPadding = pad
            pad.foldedInto = dw.name
        }
        for (i, l) in layers.enumerated() {
            guard let bn = l as? BatchNormLayer, inputs[i].count == 1, inputs[i][0] >= 0, consumers[inputs[i][0]] == 1
            else { continue }
            let src = layers[inputs[i][0]]
            let conv = src as? Conv2DLayer, dw = src as? DepthwiseConv2DLayer
            guard (conv?.activation ?? dw?.activation) == .linear, bn.inputShape.last == src.outputShape.last else {
                continue
            }
            var act: ActivationLayer?
            if consumers[i] == 1, let j = inputs.firstIndex(of: [i]), let a = layers[j] as? ActivationLayer { act = a }
            let fold = InferenceFold(batchNorm: bn, activation: act?.activation ?? .linear)
            conv?.fold = fold
            dw?.fold = fold
            bn.foldedInto = src.name
            act?.foldedInto = src.name
        }
        fuseInvertedResiduals(on)
    }

    /// Which layers backward must visit: those that train, and those above a layer that trains.
    /// Sets each layer's `needsInputGradient` to match. Called before every backward, so
    /// freezing or unfreezing layers takes effect at the next step.
    @discardableResult
    public func updateGradientFlow() -> [Bool] {
        var needs = [Bool](repeating: false, count: layers.count)
        for (i, l) in layers.enumerated() {
            let below = inputs[i].contains { $0 >= 0 && needs[$0] }
            l.needsInputGradient = below
            needs[i] = below || (l.trainable && l.parameters.contains(where: \.trainable))
        }
        return needs
    }

    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
    public var trainableParameterCount: Int { layers.reduce(0) { $0 + $1.trainableParameterCount } }
    public var nonTrainableParameterCount: Int { parameterCount - trainableParameterCount }
    /// The parameters an optimiser updates.
    public var trainableParameters: [Parameter] {
        layers.filter(\.trainable).flatMap { $0.parameters.filter(\.trainable) }
    }
    public var allParameters: [(layer: String, parameter: Parameter)] {
        layers.flatMap { l in l.parameters.map { (l.name, $0) } }
    }

    /// Forward through every layer; the result is the last layer's output (logits or probabilities).
    /// With `ctx.reusesActivationMemory` (inference), the layers before the last write into the
    /// model's activation arena, and each output's buffer is freed once its last reader has run.
    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        var outs = [Tensor?](repeating: nil, count: layers.count)
        var h = x
        let batch = x.shape[0]
        let saved = ctx.convObserver
        let arena = ctx.reusesActivationMemory && !ctx.training ? activationArena : nil
        var readersLeft = consumers
        arena?.reset()
        defer { ctx.activationArena = nil }
        for (i, l) in layers.enumerated() {
            let srcs = inputs[i]
            // The model's output never lives in the arena: the next forward would overwrite it.
            ctx.activationArena = i == layers.count - 1 ? nil : arena
            func run() -> Tensor {
                if let m = l as? MergeLayer {
                    return m.forward(inputs: srcs.map { $0 < 0 ? x : outs[$0]! }, ctx)
                }
                return l.forward(srcs[0] < 0 ? x : (srcs[0] == i - 1 ? h : outs[srcs[0]]!), ctx)
            }
            if let o = observer {
                ctx.convObserver = o.convStageObserver ?? saved
                o.layerBegan(i, l, phase: .forward, batch: batch)
                h = run()
                o.layerEnded(i, l, phase: .forward, batch: batch)
            } else {
                h = run()
            }
            outs[i] = h
            if let arena {
                arena.layerEnded(output: h)
                for src in srcs where src >= 0 {
                    readersLeft[src] -= 1
                    if readersLeft[src] == 0, let t = outs[src] { arena.release(t); outs[src] = nil }
                }
            }
        }
        ctx.convObserver = saved
        if let arena, arena.holds(h) {
            // A last layer that passes its input through: copy the output out of the arena.
            let y = finalOutput.get(batch: batch, shape: Array(h.shape.dims.dropFirst()))
            y.data.update(from: h.data, count: h.count)
            return y
        }
        return h
    }

    /// Backward from dL/d(output) through every layer that trains or lies above one that
    /// trains, filling parameter gradients. Where a layer's output feeds several layers, their
    /// gradients are summed in a buffer of the model's.
    public func backward(_ dOut: Tensor, _ ctx: RunContext) {
        let needs = updateGradientFlow()
        var grads = [Tensor?](repeating: nil, count: layers.count)
        var received = [Int](repeating: 0, count: layers.count)
        guard !layers.isEmpty else { return }
        grads[layers.count - 1] = dOut
        let batch = dOut.shape[0]
        for i in layers.indices.reversed() {
            guard needs[i], let d = grads[i] else { continue }
            let l = layers[i]
            var results: [Tensor?] = []
            func run() {
                if let m = l as? MergeLayer {
                    results = m.backward(multi: d, ctx)
                } else {
                    results = [l.backward(d, ctx)]
                }
            }
            if let o = observer {
                o.layerBegan(i, l, phase: .backward, batch: batch)
                run()
                o.layerEnded(i, l, phase: .backward, batch: batch)
            } else {
                run()
            }
            grads[i] = nil
            for (j, src) in inputs[i].enumerated() where src >= 0 && needs[src] {
                guard j < results.count, let g = results[j] else { continue }
                if consumers[src] == 1 {
                    grads[src] = g
                } else {
                    let sum = gradientSums[src].get(batch: batch, shape: layers[src].outputShape)
                    if received[src] == 0 {
                        sum.data.update(from: g.data, count: g.count)
                    } else {
                        let n = g.count, out = sum.data, add = g.data
                        ctx.runner.parallelRanges(n, work: n) { _, r in for k in r { out[k] += add[k] } }
                    }
                    received[src] += 1
                    grads[src] = sum
                }
            }
        }
    }
}

/// Softmax with categorical cross-entropy, fused and numerically stable.
public enum SoftmaxCrossEntropy {
    /// From logits (N, K) and labels: the mean loss, the number right, and dL/dlogits
    /// ((softmax − onehot)/N) written into `grad` when given.
    public static func evaluate(logits: Tensor, labels: UnsafePointer<Int32>, grad: Tensor?) -> (
        loss: Double, correct: Int
    ) {
        let n = logits.shape[0], k = logits.count / n
        var loss = 0.0, correct = 0
        let invN = 1 / Float(n)
        for i in 0..<n {
            let z = logits.data + i * k
            let p = grad.map { $0.data + i * k }  // exponentials kept only when the gradient is wanted
            var m = -Float.infinity, arg = 0
            for j in 0..<k where z[j] > m { m = z[j]; arg = j }
            var s: Double = 0
            for j in 0..<k { let e = expf(z[j] - m); p?[j] = e; s += Double(e) }
            let y = Int(labels[i])
            loss += -(Double(z[y] - m) - log(s))
            if arg == y { correct += 1 }
            if let p {
                let inv = Float(1 / s)
                for j in 0..<k { p[j] = (p[j] * inv - (j == y ? 1 : 0)) * invN }
            }
        }
        return (loss / Double(n), correct)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
