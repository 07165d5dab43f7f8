import Kernels
import Tensor

/// How a convolution layer picks its algorithm.
public enum ConvAlgorithmPolicy {
    case fixed(ConvAlgorithmKind)
    /// Time the candidates once per (shape, batch, threads) and keep the fastest.
    case auto(AutoSelector)

    /// The policy `--conv-algorithm NAME` asks for: auto (with this selector) or one algorithm.
    public static func named(_ name: String, selector: AutoSelector) throws -> ConvAlgorithmPolicy {
        if name == "auto" { return .auto(selector) }
        guard let k = ConvAlgorithmKind(userSpelling: name) else {
            throw SettingError("Unknown --conv-algorithm '\(name)'; use \(ConvAlgorithmKind.userChoices) or auto.")
        }
        return .fixed(k)
    }
}

// input NHWC (N,H,W,C), kernel HWIO (R,S,C,K), bias (K) -> output NHWC (N,P,Q,K), activation fused
/// Keras Conv2D: forward through the convolution engine (any algorithm), backward through
/// im2col + SGEMM.
public final class Conv2DLayer: Layer {
    public let name: String
    public var kerasClass: String { "Conv2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let geometry: ConvGeometry
    public let activation: Activation
    public let kernel: Parameter
    public let bias: Parameter
    /// Keras use_bias (MobileNetV2's convolutions have none: batch norm follows).
    public let useBias: Bool
    public var needsInputGradient = true
    public var trainable = true
    /// Set by Sequential: the batch norm (and activation) after this layer, folded in at inference.
    public var fold: InferenceFold?
    /// Set by Sequential when the next layer (max pooling) applies the ReLU derivative itself.
    public var activationGradientFused = false
    /// Set by Sequential: the 2x2 max pooling after this ReLU convolution, computed in the same
    /// pass (`ConvReluMaxPool`) whenever the layer runs on im2col's small-patch path. The layer
    /// then returns the pooled tensor, the pooling layer passes it through, and backward takes
    /// the pooled gradient.
    public var fusedMaxPool: PoolingLayer?
    /// Whether the last forward ran fused with `fusedMaxPool`.
    public private(set) var lastForwardFused = false
    /// Set by Sequential: the depthwise (and project) convolutions after this 1x1 layer, run with
    /// it as one pass at inference (`InvertedResidualFusion`).
    public internal(set) var fusedBlock: InvertedResidualFusion?
    /// Whether the last forward ran `fusedBlock`'s pass.
    public var lastForwardFusedBlock: Bool { fusion.ranPass }
    /// The fused pass the last forward ran, or nil.
    public var lastFusedPass: FusedInvertedResidual? { fusion.ranPass ? fusedBlock?.lastPass : nil }
    /// The layer whose fused pass computed this layer's output in the last forward (the layer
    /// passed it through), or nil.
    public var fusedInto: String? { fusion.fusedInto }
    var fusion = FusionMarks()
    private var fusedKernel: ConvReluMaxPool?
    private var weightGradientKernels: [String: WinogradWeightGradient] = [:]
    /// The instruction set of the fused convolution + ReLU + pooling kernel's last forward.
    public var fusedPoolISA: String? { fusedKernel?.options.wideKernelISA }
    private var argmax: [Int: UnsafeMutablePointer<UInt8>] = [:]
    private let pooledOutputs = BufferCache()
    private let expandedGrads = BufferCache()
    public var policy: ConvAlgorithmPolicy
    public var options: ConvOptions
    /// The algorithm the last forward used.
    public private(set) var lastAlgorithm: ConvAlgorithmKind?

    private var algorithms: [Int: ConvolutionAlgorithm] = [:]
    /// dX as a forward convolution of dy with the flipped, transposed kernel (stride 1, odd
    /// kernels, same padding), so it can run on the fastest forward algorithm (Winograd).
    private var inputGradAlgorithms: [Int: ConvolutionAlgorithm] = [:]
    private var flipped: Tensor?
    private var flippedVersion = -1
    private var backwardKernel: Im2colConv2DBackward?
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var lastInput: Tensor?
    public private(set) var lastOutput: Tensor?

    public init(
        name: String, input: [Int], filters: Int, kernel r: Int, _ s: Int? = nil, stride: Int = 1,
        padding: Padding = .same, activation: Activation = .linear, useBias: Bool = true,
        policy: ConvAlgorithmPolicy = .fixed(.im2col), options: ConvOptions = ConvOptions()
    ) throws {
        guard input.count == 3 else {
            throw ConvError.invalidShape("\(name): Conv2D needs an (H,W,C) input, got \(input)")
        }
        geometry = try ConvGeometry(
            n: 1, h: input[0], w: input[1], c: input[2], k: filters, r: r, s: s,
            stride: stride, padding: padding)
        self.name = name
        inputShape = input
        outputShape = [geometry.p, geometry.q, filters]
        self.activation = activation
        self.useBias = useBias
        self.kernel = Parameter(name: "kernel", shape: geometry.weightShape)
        self.bias = Parameter(name: "bias", shape: try TensorShape([filters]))
        self.policy = policy
        self.options = options
    }

    public var parameters: [Parameter] { useBias ? [kernel, bias] : [kernel] }

    public func cost() -> LayerCost {
        let g = geometry
        return LayerCost(
            forwardFLOPs: ConvCost.direct(g) + (useBias ? Double(g.p * g.q * g.k) : 0),
            forwardBytes: ConvCost.minimumTraffic(g))
    }

    /// The algorithm for a batch size (made once per batch size).
    public func algorithm(batch: Int, runner: ParallelRunner) throws -> ConvolutionAlgorithm {
        if let a = algorithms[batch] { return a }
        let g = try geometry.withBatch(batch)
        let kind: ConvAlgorithmKind
        var made = options
        switch policy {
        case .fixed(let k):
            kind = (try? k.check(g)) != nil ? k : .im2col
        case .auto(let selector):
            let choice = try selector.choose(g, runner: runner)
            (kind, made) = (choice.algorithm, choice.options(options))
        }
        let a = try kind.make(g, options: made)
        algorithms[batch] = a
        return a
    }

    deinit { for p in argmax.values { p.deallocate() } }

    /// Fused with the pooling after it: on im2col (where the small-patch kernel runs), without
    /// an inference fold, when Sequential has paired the two.
    func fusesPool(_ algo: ConvolutionAlgorithm, training: Bool) -> PoolingLayer? {
        guard let pool = fusedMaxPool, algo.kind == .im2col, training || fold == nil,
            (algo as? Im2colConv2D)?.usesSmallPatchKernel == true, activation == .relu
        else { return nil }
        return pool
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        if fusion.beginForward() { return x }
        if FusionMarks.runs(fusedBlock, ctx) {
            (fusion.ranPass, lastInput, lastOutput) = (true, x, nil)
            return fusedBlock!.forward(x, expand: self, ctx)
        }
        let batch = x.shape[0]
        // Shapes were checked when the model was built; a failure here is a programming error.
        let algo = try! algorithm(batch: batch, runner: ctx.runner)
        lastAlgorithm = algo.kind
        if let pool = fusesPool(algo, training: ctx.training) {
            // The build follows the options the algorithm was made with (auto may keep AVX2 under an
            // AVX-512 cap where it timed faster).
            let made = (algo as? Im2colConv2D)?.options ?? options
            let k =
                fusedKernel.flatMap { $0.options.kernelKey == made.kernelKey ? $0 : nil }
                ?? ConvReluMaxPool(geometry: geometry, options: made)
            fusedKernel = k
            let y = pooledOutputs.get(batch: batch, shape: pool.outputShape)
            // The argmax is kept in inference mode too (a quarter of the pooled bytes), so a
            // backward may follow any forward, as with the unfused layers.
            let am = argmaxBuffer(batch: batch, count: y.count)
            k.forward(
                input: x.data, batch: batch, weights: kernel.value.data, bias: useBias ? bias.value.data : nil,
                clampHigh: .greatestFiniteMagnitude, pooled: y.data, argmax: am, runner: ctx.runner)
            pool.receivePooledInput(from: name)
            lastForwardFused = true
            lastInput = x
            lastOutput = nil
            return y
        }
        lastForwardFused = false
        let y = outputs.get(batch: batch, shape: outputShape, ctx)
        // At inference the next layer reads the output at once and nothing later: keep it cached.
        (algo as? WinogradConv2D)?.outputReadNext = !ctx.training
        // ReLU and ReLU6 are applied by the algorithm while its outputs are in cache.
        if !ctx.training, let f = fold {
            f.refresh(weights: kernel, bias: useBias ? bias : nil, channels: geometry.k)
            algo.outputClamp = f.activation.clampRange
            algo.forward(
                input: x.data, batch: batch, weights: f.kernel!.data, weightsVersion: f.version,
                bias: f.bias!.data, output: y.data, runner: ctx.runner, observer: ctx.convObserver)
            if algo.outputClamp == nil { f.activation.apply(y.data, count: y.count, rowLength: geometry.k) }
        } else {
            algo.outputClamp = activation.clampRange
            algo.forward(
                input: x.data, batch: batch, weights: kernel.value.data, weightsVersion: kernel.version,
                bias: useBias ? bias.value.data : nil, output: y.data, runner: ctx.runner, observer: ctx.convObserver)
            if algo.outputClamp == nil { activation.apply(y.data, count: y.count, rowLength: geometry.k) }
        }
        lastInput = x
        lastOutput = y
        return y
    }

    private func argmaxBuffer(batch: Int, count: Int) -> UnsafeMutablePointer<UInt8> {
        if let p = argmax[batch] { return p }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        argmax[batch] = p
        return p
    }

    /// Backward after a fused forward: `dPooled` is the gradient of the pooled output. dW and db
    /// come from the fused kernel; dX (when a layer below needs it) from the pooled gradient
    /// routed back to full size, through the ordinary path.
    private func fusedBackward(_ dPooled: Tensor, x: Tensor, _ ctx: RunContext) -> Tensor? {
        let batch = x.shape[0]
        guard let k = fusedKernel, let am = argmax[batch] else {
            preconditionFailure("\(name): backward before forward")
        }
        if trainable {
            k.backwardWeights(
                input: x.data, batch: batch, dPooled: dPooled.data, argmax: am, dWeights: kernel.grad.data,
                dBias: useBias ? bias.grad.data : nil, runner: ctx.runner)
        }
        guard needsInputGradient else { return nil }
        // The pooled gradient routed back to full size by the pooling layer's window kernel
        // (the windows tile the output: P and Q are even on this path).
        let dy = expandedGrads.get(batch: batch, shape: outputShape)
        let (P, Q, K) = (geometry.p, geometry.q, geometry.k)
        let (P2, Q2) = (P / 2, Q / 2)
        let wide = options.avx512Kernels
        for n in 0..<batch {
            for pp in 0..<P2 {
                let o = (n * P2 + pp) * Q2 * K
                MaxPoolArgmax.route(
                    windows: Q2, argmax: am + o, gradient: dPooled.data + o, into: dy.data + (n * P + 2 * pp) * Q * K,
                    rowStride: Q * K, k: 2, channels: K, wide: wide)
            }
        }
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        inputGradient(dy, x: x, into: dx, ctx)
        return dx
    }

    /// Per batch size, which weight gradient timing chose (a Winograd kind or im2col) and the median
    /// seconds of each algorithm it timed (raw values).
    public private(set) var weightGradientChoice: [Int: WeightGradientChoice] = [:]

    /// Under `auto`, decides once per batch size between the Winograd weight gradients (each transform
    /// that fits the kernel) and im2col's by timing each in alternated rounds after a warm-up of each
    /// (so that none pays for first-touch allocation or always follows another), and keeps the choice
    /// with auto's (the machine record): the transform domain multiplies 2.25-4x less but moves
    /// α²/m²·(C+K) floats per pixel, which can make it the slower. All write the same dW and db (within
    /// rounding). A fixed algorithm keeps im2col's.
    private func weightGradientOnWinograd(
        batch: Int, x: Tensor, dy: Tensor, dW: UnsafeMutablePointer<Float>, _ ctx: RunContext
    ) -> WinogradWeightGradient? {
        if let c = weightGradientChoice[batch] { return winogradWeightGradient(c.kind) }
        guard case .auto(let selector) = policy, options.winogradWeightGradient,
            (try? algorithm(batch: batch, runner: ctx.runner))?.kind.winogradTransform != nil
        else { return nil }
        let g = (try? geometry.withBatch(batch)) ?? geometry
        let winograd = ConvAlgorithmKind.winogradKinds.compactMap { kind in
            winogradWeightGradient(kind).map { (kind, $0) }
        }
        guard !winograd.isEmpty else { return nil }
        func timed(_ body: () -> Void) -> Double {
            let t0 = monotonicNanos()
            body()
            return Double(monotonicNanos() - t0) * 1e-9
        }
        let choice = selector.chooseWeightGradient(g, candidates: winograd.map(\.0), runner: ctx.runner) {
            let bias = self.bias.grad.data
            func onWinograd(_ wg: WinogradWeightGradient) -> () -> Void {
                { wg.backward(input: x.data, batch: batch, dy: dy.data, dWeights: dW, dBias: bias, runner: ctx.runner) }
            }
            let onIm2col: () -> Void = {
                self.im2colBackward.backward(
                    input: x.data, batch: batch, weights: self.kernel.value.data, dy: dy.data, dWeights: dW,
                    dBias: bias, dInput: nil, runner: ctx.runner)
            }
            let runs =
                winograd.map { ($0.0.rawValue, onWinograd($0.1)) } + [(ConvAlgorithmKind.im2col.rawValue, onIm2col)]
            for (_, run) in runs { run() }
            var times = [String: [Double]]()
            for round in 0..<AutoSelector.weightGradientRounds {
                // Every other round in reverse order, so that no algorithm always follows another.
                for (name, run) in round % 2 == 0 ? runs : runs.reversed() {
                    times[name, default: []].append(timed(run))
                }
            }
            return times.mapValues { $0.sorted()[$0.count / 2] }
        }
        weightGradientChoice[batch] = WeightGradientChoice(kind: choice.algorithm, seconds: choice.secondsByAlgorithm)
        return winogradWeightGradient(choice.algorithm)
    }

    /// The Winograd weight gradient once timing chose one at this batch (nil: im2col's colᵀ·dy).
    public func chosenWinogradWeightGradient(batch: Int) -> WinogradWeightGradient? {
        weightGradientChoice[batch].flatMap { winogradWeightGradient($0.kind) }
    }

    /// The weight gradient on `kind`'s Winograd transform, when it is one that fits this layer and the
    /// options allow it (built once per transform).
    func winogradWeightGradient(_ kind: ConvAlgorithmKind) -> WinogradWeightGradient? {
        guard options.winogradWeightGradient, let t = kind.winogradTransform,
            WinogradWeightGradient.supports(geometry, transform: t)
        else { return nil }
        if let k = weightGradientKernels[t.name] { return k }
        let k = WinogradWeightGradient(geometry: geometry, transform: t, options: options)
        weightGradientKernels[t.name] = k
        return k
    }

    private var im2colBackward: Im2colConv2DBackward {
        let bk = backwardKernel ?? Im2colConv2DBackward(geometry: geometry, options: options)
        backwardKernel = bk
        return bk
    }

    /// dX = conv(dy, flip(W)ᵀ) on the input-gradient algorithm (stride 1, odd kernel, same
    /// padding), else col2im of dy·Wᵀ.
    private func inputGradient(_ dy: Tensor, x: Tensor, into dx: Tensor, _ ctx: RunContext) {
        let batch = x.shape[0]
        if transposedGeometry(batch: batch) != nil,
            let algo = try? inputGradientAlgorithm(batch: batch, runner: ctx.runner)
        {
            algo.outputClamp = nil
            algo.forward(
                input: dy.data, batch: batch, weights: flippedKernel().data, weightsVersion: kernel.version, bias: nil,
                output: dx.data, runner: ctx.runner, observer: ctx.convObserver)
        } else {
            im2colBackward.backward(
                input: x.data, batch: batch, weights: kernel.value.data, dy: dy.data,
                dWeights: nil, dBias: nil, dInput: dx.data, runner: ctx.runner)
        }
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        if lastForwardFused, let x = lastInput { return fusedBackward(dy, x: x, ctx) }
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        let batch = x.shape[0]
        if !activationGradientFused {
            activation.backward(y: y.data, dy: dy.data, count: dy.count, rowLength: geometry.k)
        }
        let dx = needsInputGradient ? inputGrads.get(batch: batch, shape: inputShape) : nil
        let viaForward = dx != nil && transposedGeometry(batch: batch) != nil
        // A frozen layer computes no weight gradient (only dX, when a layer below trains).
        let dW: UnsafeMutablePointer<Float>? = trainable ? kernel.grad.data : nil
        if let dW, let wg = weightGradientOnWinograd(batch: batch, x: x, dy: dy, dW: dW, ctx) {
            wg.backward(
                input: x.data, batch: batch, dy: dy.data, dWeights: dW, dBias: bias.grad.data, runner: ctx.runner)
            // dX (when asked): a forward convolution of dy, or (even kernels) im2col's dy·Wᵀ and col2im alone.
            if let dx, viaForward {
                inputGradient(dy, x: x, into: dx, ctx)
            } else if let dx {
                im2colBackward.backward(
                    input: x.data, batch: batch, weights: kernel.value.data, dy: dy.data, dWeights: nil, dBias: nil,
                    dInput: dx.data, runner: ctx.runner)
            }
            return dx
        }
        if dW != nil || !viaForward {
            im2colBackward.backward(
                input: x.data, batch: batch, weights: kernel.value.data, dy: dy.data,
                dWeights: dW, dBias: bias.grad.data, dInput: viaForward ? nil : dx?.data, runner: ctx.runner)
        }
        if viaForward, let dx { inputGradient(dy, x: x, into: dx, ctx) }
        return dx
    }

    /// The geometry of dX = conv(dy, flip(W)ᵀ) when it is a stride-1 'same' layer: the padding
    /// mirrored (for odd kernels the same rule again; a 2x2 kernel's moves to the top and left).
    public func transposedGeometry(batch: Int) -> ConvGeometry? {
        try? ConvGeometry(mirroring: geometry, batch: batch)
    }

    public func inputGradientAlgorithm(batch: Int, runner: ParallelRunner) throws -> ConvolutionAlgorithm {
        if let a = inputGradAlgorithms[batch] { return a }
        guard let tg = transposedGeometry(batch: batch) else {
            throw ConvError.invalidShape("\(name): no transposed convolution")
        }
        let kind: ConvAlgorithmKind
        var made = options
        switch policy {
        case .fixed(let k): kind = (try? k.check(tg)) != nil && k != .naive ? k : .im2col
        case .auto(let selector):
            let choice = try selector.choose(tg, runner: runner)
            (kind, made) = (choice.algorithm, choice.options(options))
        }
        let a = try kind.make(tg, options: made)
        inputGradAlgorithms[batch] = a
        return a
    }

    /// W'[r][s][k][c] = W[R-1-r][S-1-s][c][k], rebuilt when the weights change.
    func flippedKernel() -> Tensor {
        let g = geometry
        let f = flipped ?? Tensor(shape: try! TensorShape([g.r, g.s, g.k, g.c]))
        flipped = f
        if flippedVersion != kernel.version {
            let w = kernel.value.data
            for r in 0..<g.r {
                for s in 0..<g.s {
                    let src = w + ((g.r - 1 - r) * g.s + (g.s - 1 - s)) * g.c * g.k
                    let dst = f.data + (r * g.s + s) * g.k * g.c
                    for c in 0..<g.c { for k in 0..<g.k { dst[k * g.c + c] = src[c * g.k + k] } }
                }
            }
            flippedVersion = kernel.version
        }
        return f
    }
}
