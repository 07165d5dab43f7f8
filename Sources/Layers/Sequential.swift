import Tensor
import Kernels

/// A stack of layers, run in order, with the observer hooks the profiler plugs into.
public final class Sequential {
    public let name: String
    public let inputShape: [Int]
    public private(set) var layers: [Layer]
    public weak var observer: LayerObserver?

    public init(name: String, inputShape: [Int], layers: [Layer]) {
        self.name = name
        self.inputShape = inputShape
        self.layers = layers
        if let first = layers.first { first.needsInputGradient = false }
        fuseReluIntoMaxPool(true)
    }

    /// Conv2D(relu) followed by max pooling: the pool drops the gradient where the max is 0,
    /// which is exactly ReLU's derivative at the routed element, so the convolution skips its
    /// own pass over the (large) activation gradient. Off gives the plain layer-by-layer path.
    public func fuseReluIntoMaxPool(_ on: Bool) {
        for (a, b) in zip(layers, layers.dropFirst()) {
            guard let conv = a as? Conv2DLayer, let pool = b as? PoolingLayer else { continue }
            let fuse = on && conv.activation == .relu && pool.type == .max
            conv.activationGradientFused = fuse
            pool.appliesReluGradient = fuse
        }
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
    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        var h = x
        let batch = x.shape[0]
        let saved = ctx.convObserver
        for (i, l) in layers.enumerated() {
            if let o = observer {
                ctx.convObserver = o.convStageObserver ?? saved
                o.layerBegan(i, l, phase: .forward, batch: batch)
                h = l.forward(h, ctx)
                o.layerEnded(i, l, phase: .forward, batch: batch)
            } else {
                h = l.forward(h, ctx)
            }
        }
        ctx.convObserver = saved
        return h
    }

    /// Backward from dL/d(output) through every layer, filling parameter gradients.
    public func backward(_ dOut: Tensor, _ ctx: RunContext) {
        var g: Tensor? = dOut
        let batch = dOut.shape[0]
        for (i, l) in layers.enumerated().reversed() {
            guard let d = g else { break }
            if let o = observer {
                o.layerBegan(i, l, phase: .backward, batch: batch)
                g = l.backward(d, ctx)
                o.layerEnded(i, l, phase: .backward, batch: batch)
            } else {
                g = l.backward(d, ctx)
            }
        }
    }
}

/// Softmax with categorical cross-entropy, fused and numerically stable.
public enum SoftmaxCrossEntropy {
    /// From logits (N, K) and labels: the mean loss, the number right, and dL/dlogits
    /// ((softmax − onehot)/N) written into `grad` when given.
    public static func evaluate(logits: Tensor, labels: UnsafePointer<Int32>, grad: Tensor?) -> (loss: Double, correct: Int) {
        let n = logits.shape[0], k = logits.count / n
        var loss = 0.0, correct = 0
        let invN = 1 / Float(n)
        for i in 0..<n {
            let z = logits.data + i * k
            let p = grad.map { $0.data + i * k }   // exponentials kept only when the gradient is wanted
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
