import Kernels
import Tensor

/// An expand 1x1 convolution, the depthwise 3x3 after it and (where it follows) the project 1x1
/// convolution, run as one pass at inference (`FusedInvertedResidual`): MobileNetV2's blocks.
/// Sequential pairs the layers when each is read only by the next (batch norm, activations and
/// zero padding folded in between); the expand layer runs the pass, the depthwise and project
/// layers then pass its result through, and the report shows them "fused into" the expand layer.
/// A depthwise layer with a project layer after it and no expand layer before (MobileNetV2's
/// first block) runs the pass itself, without the expand stage.
/// Only with `RunContext.reusesActivationMemory`: the expanded and depthwise maps never exist.
public final class InvertedResidualFusion {
    public unowned let depthwise: DepthwiseConv2DLayer
    public unowned let project: Conv2DLayer?
    private var made: FusedInvertedResidual?
    private let outputs = BufferCache()

    init(depthwise: DepthwiseConv2DLayer, project: Conv2DLayer?) {
        self.depthwise = depthwise
        self.project = project
    }

    /// The output shape of the pass (the last fused layer's).
    var outputShape: [Int] { project?.outputShape ?? depthwise.outputShape }

    /// The depthwise window over the expanded map, with an absorbed zero padding's rows and columns.
    var window: FusedInvertedResidual.Window {
        let g = depthwise.geometry
        var w = FusedInvertedResidual.Window(
            h: g.h, w: g.w, c: g.c, stride: g.strideH, padTop: g.padTop, padLeft: g.padLeft, p: g.p, q: g.q)
        if let pad = depthwise.absorbedPadding {
            w.h = pad.inputShape[0]; w.w = pad.inputShape[1]
            w.padTop += pad.top; w.padLeft += pad.left
        }
        return w
    }

    /// The kernel-level pass the last forward ran.
    public var lastPass: FusedInvertedResidual? { made }

    /// The kernel-level pass for the expand layer's options.
    func pass(inputChannels: Int?, options: ConvOptions) -> FusedInvertedResidual {
        if let p = made, p.options == options, p.inputChannels == inputChannels { return p }
        let p = FusedInvertedResidual(
            inputChannels: inputChannels, depthwise: window, projectChannels: project?.geometry.k, options: options)
        made = p
        return p
    }

    /// The pass on `x` (the expand layer's input, or the depthwise layer's without one); marks
    /// the layers after the one running it to pass the result through.
    func forward(_ x: Tensor, expand: Conv2DLayer?, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0]
        let y = outputs.get(batch: batch, shape: outputShape, ctx)
        let p = pass(inputChannels: expand?.geometry.c, options: expand?.options ?? depthwise.options)
        p.forward(
            input: x.data, batch: batch, expand: expand?.inferenceStage(), depthwise: depthwise.inferenceStage(),
            project: project?.inferenceStage(), output: y.data, runner: ctx.runner)
        let runner = expand?.name ?? depthwise.name
        if expand != nil { depthwise.fusion.receive(from: runner) }
        project?.fusion.receive(from: runner)
        return y
    }
}

/// What the fused pass left for a layer in the last forward: whether the layer ran the pass
/// itself, or which layer's pass computed its output (it then passed its input through).
struct FusionMarks {
    private(set) var fusedInto: String?
    var ranPass = false
    private var pending: String?

    /// The next forward passes its input through: `runner`'s pass has computed this layer.
    mutating func receive(from runner: String) { pending = runner }

    /// At the start of a forward: true when the layer is to pass its input through.
    mutating func beginForward() -> Bool {
        fusedInto = pending
        pending = nil
        ranPass = false
        return fusedInto != nil
    }

    /// Whether `block` runs in this forward: inference with shared activation buffers.
    static func runs(_ block: InvertedResidualFusion?, _ ctx: RunContext) -> Bool {
        block != nil && !ctx.training && ctx.reusesActivationMemory
    }
}

/// A convolution that can be a stage of the fused pass: its weights, bias, activation, and the
/// batch norm folded into it at inference.
protocol FusedPassStage: AnyObject {
    var fold: InferenceFold? { get }
    var kernel: Parameter { get }
    var bias: Parameter { get }
    var useBias: Bool { get }
    var activation: Activation { get }
    /// The channels the fold's per-channel scale runs over (the output channels).
    var foldChannels: Int { get }
}

extension FusedPassStage {
    /// The weights, bias and clamp this layer runs with at inference (batch norm folded in).
    func inferenceStage() -> FusedInvertedResidual.Stage {
        if let f = fold {
            f.refresh(weights: kernel, bias: useBias ? bias : nil, channels: foldChannels)
            return .init(
                weights: f.kernel!.data, version: f.version, bias: f.bias!.data, clamp: f.activation.clampRange)
        }
        return .init(
            weights: kernel.value.data, version: kernel.version, bias: useBias ? bias.value.data : nil,
            clamp: activation.clampRange)
    }

    /// Whether the layer computes the activation it runs with as a clamp (or has none): a stage
    /// of the fused pass.
    var clampsItsActivation: Bool {
        let a = fold?.activation ?? activation
        return a == .linear || a.clampRange != nil
    }
}

extension Conv2DLayer: FusedPassStage {
    var foldChannels: Int { geometry.k }
}

extension DepthwiseConv2DLayer: FusedPassStage {
    var foldChannels: Int { geometry.c }
}

extension Sequential {
    /// Pairs expand 1x1 → (zero padding) → depthwise 3x3 (→ project 1x1) for the fused inference
    /// pass, each read only by the next (folded batch norms and activations in between). Off (or
    /// training, or a run without `reusesActivationMemory`) runs the layers one by one.
    func fuseInvertedResiduals(_ on: Bool) {
        for l in layers {
            (l as? Conv2DLayer)?.fusedBlock = nil
            (l as? DepthwiseConv2DLayer)?.fusedBlock = nil
        }
        guard on else { return }
        // The one layer that reads layer i, past layers that pass their input through at inference.
        func reader(of i: Int) -> Int? {
            var i = i
            while true {
                guard consumers[i] == 1, let j = inputs.firstIndex(of: [i]) else { return nil }
                if let f = layers[j] as? FoldableIntoConvolution, f.foldedInto != nil {
                    i = j
                    continue
                }
                return j
            }
        }
        for (i, l) in layers.enumerated() {
            guard let expand = l as? Conv2DLayer, expand.geometry.r == 1, expand.geometry.s == 1,
                expand.geometry.strideH == 1, expand.geometry.strideW == 1, expand.fusedMaxPool == nil,
                expand.clampsItsActivation, let j = reader(of: i), let dw = layers[j] as? DepthwiseConv2DLayer,
                FusedInvertedResidual.supports(dw.geometry), dw.clampsItsActivation
            else { continue }
            // The padding between them, when there is one, must be the one the depthwise absorbs.
            let padded = layers[(i + 1)..<j].contains { $0 is ZeroPadding2DLayer }
            guard !padded || dw.absorbedPadding != nil else { continue }
            expand.fusedBlock = InvertedResidualFusion(depthwise: dw, project: projectAfter(j))
        }
        // A depthwise layer no expand layer runs, with a project layer after it.
        let expanded = Set(layers.compactMap { ($0 as? Conv2DLayer)?.fusedBlock?.depthwise.name })
        for (j, l) in layers.enumerated() {
            guard let dw = l as? DepthwiseConv2DLayer, !expanded.contains(dw.name),
                FusedInvertedResidual.supports(dw.geometry), dw.clampsItsActivation, let project = projectAfter(j)
            else { continue }
            dw.fusedBlock = InvertedResidualFusion(depthwise: dw, project: project)
        }
        // The 1x1 stride-1 convolution that alone reads depthwise layer j (folded layers between).
        func projectAfter(_ j: Int) -> Conv2DLayer? {
            guard let k = reader(of: j), let p = layers[k] as? Conv2DLayer, p.geometry.r == 1, p.geometry.s == 1,
                p.geometry.strideH == 1, p.geometry.strideW == 1, p.fusedMaxPool == nil, p.clampsItsActivation
            else { return nil }
            return p
        }
    }
}
