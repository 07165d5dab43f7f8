import Tensor
import Layers

/// Updates trainable parameters from their gradients.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    func step(_ params: [Parameter])
}

/// Adam as Keras implements it: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
/// lr_t = lr·√(1−β2^t)/(1−β1^t), w −= lr_t·m/(√v + ε). Defaults 1e-3, 0.9, 0.999, 1e-7.
public final class Adam: Optimizer {
    public var learningRate: Double
    public let beta1: Double, beta2: Double, epsilon: Double
    private var t = 0
    private var state: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }

    public func step(_ params: [Parameter]) {
        t += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let lrT = Float(learningRate * (1 - pow(beta2, Double(t))).squareRoot() / (1 - pow(beta1, Double(t))))
        for p in params {
            let id = ObjectIdentifier(p)
            let s = state[id] ?? (Tensor(shape: p.value.shape), Tensor(shape: p.value.shape))
            state[id] = s
            let w = p.value.data, g = p.grad.data, m = s.m.data, v = s.v.data
            for i in 0..<p.value.count {
                let gi = g[i]
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                w[i] -= lrT * m[i] / (v[i].squareRoot() + eps)
            }
            p.version += 1
        }
    }
}

/// SGD with momentum as Keras: v = μ·v − lr·g; w += v.
public final class SGD: Optimizer {
    public var learningRate: Double
    public let momentum: Double
    private var velocity: [ObjectIdentifier: Tensor] = [:]

    public init(learningRate: Double = 1e-2, momentum: Double = 0.9) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public func step(_ params: [Parameter]) {
        let mu = Float(momentum), lr = Float(learningRate)
        for p in params {
            let id = ObjectIdentifier(p)
            let vel = velocity[id] ?? Tensor(shape: p.value.shape)
            velocity[id] = vel
            let w = p.value.data, g = p.grad.data, v = vel.data
            for i in 0..<p.value.count {
                v[i] = mu * v[i] - lr * g[i]
                w[i] += v[i]
            }
            p.version += 1
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
