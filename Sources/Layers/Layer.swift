import Kernels
import Tensor

/// A trainable tensor and its gradient.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let grad: Tensor
    /// Trainable parameters receive optimiser updates; the rest (batch-norm moving statistics)
    /// are counted as non-trainable, as Keras does.
    public var trainable: Bool
    /// Bumped whenever `value` changes, so caches (Winograd filters) know.
    public var version = 0

    public init(name: String, shape: TensorShape, trainable: Bool = true) {
        self.name = name
        value = Tensor(shape: shape)
        grad = Tensor(shape: shape)
        self.trainable = trainable
    }
}

/// Forward or backward.
public enum Phase: String, Codable, Sendable { case forward, backward }

/// Told when each layer begins and ends. The profiler implements this; layers never know who listens.
public protocol LayerObserver: AnyObject {
    func layerBegan(_ index: Int, _ layer: Layer, phase: Phase, batch: Int)
    func layerEnded(_ index: Int, _ layer: Layer, phase: Phase, batch: Int)
    /// Where convolution stages are reported while the layer runs (nil: not wanted).
    var convStageObserver: ConvStageObserver? { get }
}

/// What a run needs: the workers, whether it trains, and a seeded generator for dropout.
public final class RunContext {
    public let runner: ParallelRunner
    public var training: Bool
    public var rng: SeededGenerator
    public var convObserver: ConvStageObserver?
    /// Inference only: layer outputs share a few buffers, each reused once its readers have run
    /// (`ActivationArena`). Leave it off where a caller reads a layer's output after the forward
    /// (feature maps, Grad-CAM, calibration).
    public var reusesActivationMemory = false
    /// Set by Sequential while a layer runs with `reusesActivationMemory`.
    var activationArena: ActivationArena?

    public init(runner: ParallelRunner, training: Bool = false, seed: UInt64 = 42) {
        self.runner = runner
        self.training = training
        rng = SeededGenerator(seed: seed)
    }
}

/// Costs of one layer for one image, by formula (modelled).
public struct LayerCost: Codable, Equatable, Sendable {
    /// Forward FLOPs (direct-equivalent for convolutions).
    public var forwardFLOPs: Double
    /// Minimum bytes moved by the forward pass: input and parameters read once, output written once.
    public var forwardBytes: Double
    public init(forwardFLOPs: Double, forwardBytes: Double) {
        self.forwardFLOPs = forwardFLOPs
        self.forwardBytes = forwardBytes
    }
}

/// A layer on NHWC (or (N, features)) tensors.
/// Shapes exclude the batch: `inputShape` (H,W,C) or (F).
public protocol Layer: AnyObject {
    var name: String { get }
    /// The Keras class name shown in the summary (Conv2D, MaxPooling2D, ...).
    var kerasClass: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var parameters: [Parameter] { get }
    /// Whether backward must produce the input gradient (false for the first layer).
    var needsInputGradient: Bool { get set }
    /// Whether this layer is trained (frozen layers keep their weights; batch norm then runs in inference mode).
    var trainable: Bool { get set }
    func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor
    /// Takes dL/dy, accumulates parameter gradients, returns dL/dx (nil when not needed).
    func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor?
    func cost() -> LayerCost
}

extension Layer {
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
    public var trainableParameterCount: Int {
        parameters.filter { $0.trainable && trainable }.reduce(0) { $0 + $1.value.count }
    }
    static func bytes(_ n: Int) -> Double { Double(n) * 4 }
}

/// A per-batch-size cache of output tensors, so layers allocate once per shape.
final class BufferCache {
    private var byBatch: [Int: Tensor] = [:]
    /// An output buffer: from the run's activation arena when it has one (the caller writes every
    /// element), else this cache's own.
    func get(batch: Int, shape: [Int], _ ctx: RunContext) -> Tensor {
        ctx.activationArena?.take([batch] + shape) ?? get(batch: batch, shape: shape)
    }
    func get(batch: Int, shape: [Int]) -> Tensor {
        if let t = byBatch[batch] { return t }
        let t = try! Tensor([batch] + shape)
        byBatch[batch] = t
        return t
    }
}
