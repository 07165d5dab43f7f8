import CKernels
import Kernels
import Layers
import Tensor

/// Updates trainable parameters from their gradients.
public protocol Optimizer: AnyObject {
    var learningRate: Double { get set }
    /// One update of every parameter, its elements split across `runner`'s workers.
    func step(_ params: [Parameter], runner: ParallelRunner)
}

extension Optimizer {
    /// One update on the calling thread.
    public func step(_ params: [Parameter]) { step(params, runner: SerialRunner()) }
}

/// The element ranges of a parameter list seen as one array: worker `w` of `workers` gets
/// contiguous pieces (parameter index, element range) of about total/workers elements, cut at
/// multiples of 8 so every piece but a parameter's last is whole SIMD vectors.
enum ParameterSlices {
    static func slices(counts: [Int], worker: Int, workers: Int) -> [(index: Int, range: Range<Int>)] {
        let total = counts.reduce(0, +)
        let lo = (total * worker / workers) & ~7,
            hi = worker == workers - 1 ? total : (total * (worker + 1) / workers) & ~7
        var out: [(Int, Range<Int>)] = []
        var base = 0
        for (i, c) in counts.enumerated() {
            let a = max(lo, base), b = min(hi, base + c)
            if a < b { out.append((i, (a - base)..<(b - base))) }
            base += c
        }
        return out
    }
}

/// Adam as Keras implements it: m = β1·m + (1−β1)·g, v = β2·v + (1−β2)·g²,
/// lr_t = lr·√(1−β2^t)/(1−β1^t), w −= lr_t·m/(√v + ε). Defaults 1e-3, 0.9, 0.999, 1e-7.
public final class Adam: Optimizer {
    public var learningRate: Double
    public let beta1: Double, beta2: Double, epsilon: Double
    private var t = 0
    private var state: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    /// The widest ISA the update's C kernel uses (`--isa`; the best this machine has by default).
    public let isa: String

    public init(
        learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7,
        isa: String = ConvOptions.bestISA
    ) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.isa = isa
    }

    public func step(_ params: [Parameter], runner: ParallelRunner) {
        t += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let lrT = Float(learningRate * (1 - pow(beta2, Double(t))).squareRoot() / (1 - pow(beta1, Double(t))))
        let states: [(m: Tensor, v: Tensor)] = params.map { p in
            let id = ObjectIdentifier(p)
            let s = state[id] ?? (Tensor(shape: p.value.shape), Tensor(shape: p.value.shape))
            state[id] = s
            return s
        }
        let counts = params.map { $0.value.count }
        let total = counts.reduce(0, +)
        let workers = total < 65_536 ? 1 : runner.width
        // The update in C (`cnns_adam_update_*`): the same operations in the same order in every
        // build and for every split, so results depend neither on the ISA nor on the workers.
        let kernel = Self.kernel(isa: isa)
        let body: (Int) -> Void = { worker in
            for (i, r) in ParameterSlices.slices(counts: counts, worker: worker, workers: workers) {
                let o = r.lowerBound
                kernel(
                    params[i].value.data + o, params[i].grad.data + o, states[i].m.data + o, states[i].v.data + o,
                    r.count, b1, b2, eps, lrT)
            }
        }
        if workers == 1 { body(0) } else { runner.run(body) }
        for p in params { p.version += 1 }
    }

    typealias Kernel =
        @convention(c) (
            UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?,
            UnsafeMutablePointer<Float>?, Int, Float, Float, Float, Float
        ) -> Void

    /// The build of the update for an ISA: the plain C reference under `scalar`.
    static func kernel(isa: String) -> Kernel {
        ConvOptions(isa: isa).byISA(
            avx512: cnns_adam_update_avx512, avx2: cnns_adam_update_avx2, scalar: cnns_adam_update_scalar)
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

    public func step(_ params: [Parameter], runner: ParallelRunner) {
        let mu = Float(momentum), lr = Float(learningRate)
        let vels: [Tensor] = params.map { p in
            let id = ObjectIdentifier(p)
            let vel = velocity[id] ?? Tensor(shape: p.value.shape)
            velocity[id] = vel
            return vel
        }
        let counts = params.map { $0.value.count }
        let workers = counts.reduce(0, +) < 65_536 ? 1 : runner.width
        let body: (Int) -> Void = { worker in
            for (i, range) in ParameterSlices.slices(counts: counts, worker: worker, workers: workers) {
                let w = params[i].value.data, g = params[i].grad.data, v = vels[i].data
                for j in range {
                    v[j] = mu * v[j] - lr * g[j]
                    w[j] += v[j]
                }
            }
        }
        if workers == 1 { body(0) } else { runner.run(body) }
        for p in params { p.version += 1 }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
