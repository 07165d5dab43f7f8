import Tensor

/// Batch normalisation (and the activation after it) folded into the convolution before it, for
/// inference: y = act(γ·(conv(x) + b − μ)/√(σ² + ε) + β) is conv with weights W·s and bias
/// (b − μ)·s + β, s = γ/√(σ² + ε) per output channel, then act applied in the convolution's own
/// pass. Removes two or three passes over every activation map (MobileNetV2: batch norm and
/// ReLU6 were half the inference time at batch 16). Training keeps the separate layers (batch
/// statistics). Sequential sets folds up; the folded layers then pass their input through.
public final class InferenceFold {
    public let batchNorm: BatchNormLayer
    public let activation: Activation
    private(set) var kernel: Tensor?
    private(set) var bias: Tensor?
    /// A weights version no plain layer uses, bumped at every refold (Winograd caches by version).
    private(set) var version = 0
    private var stamp: [Int] = []
    nonisolated(unsafe) private static var nextVersion = 1 << 40

    init(batchNorm: BatchNormLayer, activation: Activation) {
        self.batchNorm = batchNorm
        self.activation = activation
    }

    /// Folded weights for `weights` (output channel = index mod `channels`) and its bias.
    func refresh(weights: Parameter, bias: Parameter?, channels: Int) {
        let bn = batchNorm
        let now = [
            weights.version, bias?.version ?? -1, bn.gamma.version, bn.beta.version, bn.movingMean.version,
            bn.movingVariance.version, Int(bn.epsilon.bitPattern),
        ]
        if now == stamp, kernel != nil { return }
        let k = kernel ?? Tensor(shape: weights.value.shape, zeroed: false)
        let b = self.bias ?? Tensor(shape: try! TensorShape([channels]), zeroed: false)
        kernel = k; self.bias = b
        // act(BN(conv + b0)) = act(conv·s + (b0·s + shift)).
        let (s, shift) = bn.inferenceAffine()
        for c in 0..<channels { b.data[c] = (bias?.value.data[c] ?? 0) * s[c] + shift[c] }
        let w = weights.value.data, n = weights.value.count
        for i in 0..<n { k.data[i] = w[i] * s[i % channels] }
        stamp = now
        Self.nextVersion += 1
        version = Self.nextVersion
    }
}

/// A layer that can be folded into the convolution before it at inference.
public protocol FoldableIntoConvolution: Layer {
    /// The convolution it is folded into (nil: runs itself).
    var foldedInto: String? { get set }
}
