import Kernels
import Tensor

// input NHWC (N,H,W,C), depthwise kernel (R,S,C,1), bias (C) -> output NHWC (N,P,Q,C), activation fused
/// Keras DepthwiseConv2D (depth multiplier 1): forward and backward through the direct
/// vectorised kernel; memory-bound, so it gets its own roofline point.
public final class DepthwiseConv2DLayer: Layer {
    public let name: String
    public var kerasClass: String { "DepthwiseConv2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let geometry: ConvGeometry
    public let activation: Activation
    public let useBias: Bool
    /// Keras names it depthwise_kernel, shape (R,S,C,1).
    public let kernel: Parameter
    public let bias: Parameter
    public var needsInputGradient = true
    public var trainable = true
    /// Set by Sequential: the batch norm (and activation) after this layer, folded in at inference.
    public var fold: InferenceFold?
    /// Set by Sequential: the zero padding before this layer, read at inference as part of the
    /// kernel's own padding, so the padded copy of the map is never made (MobileNetV2's stride-2
    /// blocks; the padding layer passes its input through).
    public var absorbedPadding: ZeroPadding2DLayer?
    /// The kernel switches; `isa` "scalar" runs the plain C reference.
    public let options: ConvOptions
    /// Set by Sequential: the project convolution after this layer, run with it as one pass at
    /// inference when no expand layer runs this one (`InvertedResidualFusion`).
    public internal(set) var fusedBlock: InvertedResidualFusion?
    /// Whether the last forward ran `fusedBlock`'s pass.
    public var lastForwardFusedBlock: Bool { fusion.ranPass }
    /// The fused pass the last forward ran, or nil.
    public var lastFusedPass: FusedInvertedResidual? { fusion.ranPass ? fusedBlock?.lastPass : nil }
    /// The expand layer whose fused pass computed this layer's output in the last forward (the
    /// layer passed it through), or nil.
    public var fusedInto: String? { fusion.fusedInto }
    var fusion = FusionMarks()
    private var kernels: [Int: DepthwiseConv2D] = [:]
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var lastInput: Tensor?
    private var lastOutput: Tensor?

    public init(
        name: String, input: [Int], kernel r: Int, _ s: Int? = nil, stride: Int = 1, padding: Padding = .same,
        activation: Activation = .linear, useBias: Bool = true, options: ConvOptions = ConvOptions()
    ) throws {
        self.options = options
        guard input.count == 3 else {
            throw ConvError.invalidShape("\(name): DepthwiseConv2D needs an (H,W,C) input, got \(input)")
        }
        geometry = try ConvGeometry(
            n: 1, h: input[0], w: input[1], c: input[2], k: input[2], r: r, s: s,
            stride: stride, padding: padding)
        self.name = name
        inputShape = input
        outputShape = [geometry.p, geometry.q, input[2]]
        self.activation = activation
        self.useBias = useBias
        kernel = Parameter(name: "depthwise_kernel", shape: try TensorShape([geometry.r, geometry.s, input[2], 1]))
        bias = Parameter(name: "bias", shape: try TensorShape([input[2]]))
    }

    public var parameters: [Parameter] { useBias ? [kernel, bias] : [kernel] }

    public func cost() -> LayerCost {
        let g = geometry
        return LayerCost(
            forwardFLOPs: DepthwiseConv2D.flops(g, batch: 1) + (useBias ? Double(g.p * g.q * g.c) : 0),
            forwardBytes: DepthwiseConv2D.minimumBytes(g, batch: 1))
    }

    public func kernel(batch: Int) -> DepthwiseConv2D {
        if let k = kernels[batch] { return k }
        let k = try! DepthwiseConv2D(geometry: try! geometry.withBatch(batch))
        kernels[batch] = k
        return k
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        if fusion.beginForward() { return x }
        if FusionMarks.runs(fusedBlock, ctx) {
            (fusion.ranPass, lastInput, lastOutput) = (true, x, nil)
            return fusedBlock!.forward(x, expand: nil, ctx)
        }
        let batch = x.shape[0]
        let y = outputs.get(batch: batch, shape: outputShape, ctx)
        // The padding layer passed its input through: x is the map before padding.
        var absorbed: DepthwiseConv2D.AbsorbedPadding?
        let dims = Array(x.shape.dims.dropFirst())
        if let pad = absorbedPadding, dims == pad.inputShape, dims != inputShape {
            absorbed = .init(top: pad.top, left: pad.left, height: pad.inputShape[0], width: pad.inputShape[1])
        }
        if !ctx.training, let f = fold {
            f.refresh(weights: kernel, bias: useBias ? bias : nil, channels: geometry.c)
            // ReLU and ReLU6 are clamps the kernel applies while the pixel is in cache.
            let clamp = f.activation.clampRange
            kernel(batch: batch).forward(
                input: x.data, batch: batch, weights: f.kernel!.data, bias: f.bias!.data,
                output: y.data, runner: ctx.runner, clamp: clamp, options: options, absorbing: absorbed)
            if clamp == nil { f.activation.apply(y.data, count: y.count, rowLength: geometry.c) }
        } else {
            kernel(batch: batch).forward(
                input: x.data, batch: batch, weights: kernel.value.data,
                bias: useBias ? bias.value.data : nil, output: y.data, runner: ctx.runner,
                options: options, absorbing: absorbed)
            activation.apply(y.data, count: y.count, rowLength: geometry.c)
        }
        lastInput = x
        lastOutput = y
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard let x = lastInput, let y = lastOutput else { preconditionFailure("\(name): backward before forward") }
        precondition(
            Array(x.shape.dims.dropFirst()) == inputShape,
            "\(name): backward after an inference forward that read the zero padding in place")
        let batch = x.shape[0]
        activation.backward(y: y.data, dy: dy.data, count: dy.count, rowLength: geometry.c)
        let dx = needsInputGradient ? inputGrads.get(batch: batch, shape: inputShape) : nil
        kernel(batch: batch).backward(
            input: x.data, batch: batch, weights: kernel.value.data, dy: dy.data,
            dWeights: trainable ? kernel.grad.data : nil,
            dBias: trainable && useBias ? bias.grad.data : nil,
            dInput: dx?.data, runner: ctx.runner)
        return dx
    }
}
