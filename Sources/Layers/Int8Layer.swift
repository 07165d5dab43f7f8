import Kernels
import Tensor

// input NHWC (N,H,W,C) or (N,F) float -> output NHWC (N,P,Q,K) or (N,U) float, int8 inside
/// The int8 stand-in for a trained Conv2D or Dense layer (inference only): same name, shapes
/// and activation, weights quantised per output channel, input per tensor with the range seen
/// in calibration (`Int8Conv2D`). A Dense layer runs as a 1x1 convolution of a 1x1 image.
public final class Int8Layer: Layer {
    public let name: String
    public let kerasClass: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let activation: Activation
    public let kernel: Int8Conv2D
    public var needsInputGradient = false
    public var trainable: Bool {
        get { false }
        set {}
    }
    /// Quantised weights are not parameters an optimiser could update.
    public var parameters: [Parameter] { [] }
    private let floatCost: LayerCost
    private let outputs = BufferCache()
    /// Set by the quantiser: the 2x2 max pooling after this convolution, computed in the same
    /// pass (`Int8Conv2D.forwardPooled2x2`); the pooling layer then passes the result through.
    public var fusedMaxPool: PoolingLayer?
    private let pooledOutputs = BufferCache()

    /// `isa` replaces the convolution's ISA cap for the int8 kernels (nil: the convolution's); the
    /// quantiser passes only a narrower one. `.direct` runs the direct kernel where it fits.
    public init(
        quantizing conv: Conv2DLayer, input: ActivationQuantization, isa: String? = nil, path: Int8Conv2D.Path = .direct
    ) {
        let isa = isa ?? conv.options.isa
        name = conv.name
        kerasClass = conv.kerasClass + " (int8)"
        inputShape = conv.inputShape
        outputShape = conv.outputShape
        // A batch norm folded into the convolution is quantised with it (as TFLite does): the
        // folded layers after it pass their input through in both models.
        if let f = conv.fold {
            f.refresh(weights: conv.kernel, bias: conv.useBias ? conv.bias : nil, channels: conv.geometry.k)
            activation = f.activation
            kernel = Int8Conv2D(
                geometry: conv.geometry, weights: f.kernel!.data, bias: f.bias!.data, input: input, isa: isa,
                path: path)
        } else {
            activation = conv.activation
            kernel = Int8Conv2D(
                geometry: conv.geometry, weights: conv.kernel.value.data,
                bias: conv.useBias ? conv.bias.value.data : nil, input: input, isa: isa, path: path)
        }
        floatCost = conv.cost()
    }

    /// `isa` caps the int8 GEMM's instruction set (Dense layers carry no convolution options).
    public init(quantizing dense: DenseLayer, input: ActivationQuantization, isa: String = ConvOptions.bestISA) throws {
        name = dense.name
        kerasClass = "Dense (int8)"
        inputShape = dense.inputShape
        outputShape = dense.outputShape
        activation = dense.activation
        let g = try ConvGeometry(n: 1, h: 1, w: 1, c: dense.inputShape[0], k: dense.units, r: 1)
        kernel = Int8Conv2D(
            geometry: g, weights: dense.kernel.value.data, bias: dense.bias.value.data, input: input, isa: isa)
        floatCost = dense.cost()
    }

    /// The float layer's FLOPs; bytes with the weights at one byte each.
    public func cost() -> LayerCost {
        let weightBytesSaved = Double(kernel.weightBytes) * 3
        return LayerCost(forwardFLOPs: floatCost.forwardFLOPs, forwardBytes: floatCost.forwardBytes - weightBytesSaved)
    }

    /// Whether the pooling after this layer can run inside it: 2x2 max pooling of this output,
    /// and an activation that is a clamp (or none), so pooling the sums first changes nothing.
    public func canFuse(_ pool: PoolingLayer) -> Bool {
        pool.type == .max && pool.pool == 2 && outputShape.count == 3
            && pool.outputShape == [outputShape[0] / 2, outputShape[1] / 2, outputShape[2]]
            && (activation == .linear || activation.clampRange != nil)
    }

    /// Whether forward runs the 2x2 max pooling after it inside the convolution.
    public var runsFusedPool: Bool { fusedMaxPool.map { canFuse($0) } ?? false }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0]
        let clamp = activation.clampRange
        if runsFusedPool, let pool = fusedMaxPool {
            let y = pooledOutputs.get(batch: batch, shape: pool.outputShape)
            kernel.forwardPooled2x2(input: x.data, batch: batch, output: y.data, runner: ctx.runner, clamp: clamp)
            pool.receivePooledInput(from: name)
            return y
        }
        let y = outputs.get(batch: batch, shape: outputShape)
        kernel.forward(input: x.data, batch: batch, output: y.data, runner: ctx.runner, clamp: clamp)
        if clamp == nil { activation.apply(y.data, count: y.count, rowLength: outputShape.last ?? 1) }
        return y
    }

    /// Inference only: quantised layers are not trained.
    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? { nil }
}
