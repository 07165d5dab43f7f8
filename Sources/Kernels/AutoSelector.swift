import Tensor

/// The algorithm `auto` chose for one (layer shape, batch, threads), with the times it saw.
public struct AlgorithmChoice: Codable, Equatable, Sendable {
    public var algorithm: ConvAlgorithmKind
    /// Seconds per forward for each algorithm tried (best of three after a warm-up); with an
    /// AVX-512 cap, also each algorithm with its AVX2 kernels ("winograd-f4x3@avx2").
    public var secondsByAlgorithm: [String: Double]
    /// The ISA cap the fastest ran under, when it is narrower than the options' (AVX2 kernels
    /// timed faster than the AVX-512 ones for this layer); nil: the options' own.
    public var isa: String?

    public init(algorithm: ConvAlgorithmKind, secondsByAlgorithm: [String: Double], isa: String? = nil) {
        self.algorithm = algorithm
        self.secondsByAlgorithm = secondsByAlgorithm
        self.isa = isa
    }

    /// The options to make the chosen algorithm with: `base` with the chosen ISA cap.
    public func options(_ base: ConvOptions) -> ConvOptions {
        var o = base
        if let isa { o.isa = isa }
        return o
    }
}

/// Cached choices, keyed by `AutoSelector.key`. Stored in the machine profile by the caller.
public struct AlgorithmChoiceCache: Codable, Equatable, Sendable {
    public var choices: [String: AlgorithmChoice] = [:]
    public init() {}
}

/// `auto`: per layer, times each applicable algorithm (best of three after a warm-up) and keeps
/// the fastest; reuses a cached choice when the same shape, batch and thread count come again.
public final class AutoSelector {
    public private(set) var cache: AlgorithmChoiceCache
    /// Set when a new choice was measured (the caller saves the cache then).
    public private(set) var changed = false
    public let options: ConvOptions
    public var candidates: [ConvAlgorithmKind]
    /// The machine the choices were timed on (its identity name): part of every key.
    public let machine: String

    /// `machine` names the machine (`MachineIdentity.name`); choices of another machine, or timed
    /// with other kernel switches, never match a key made here.
    public init(
        cache: AlgorithmChoiceCache = AlgorithmChoiceCache(), options: ConvOptions = ConvOptions(),
        machine: String = "unidentified",
        candidates: [ConvAlgorithmKind] = [.im2col] + ConvAlgorithmKind.winogradKinds
    ) {
        self.machine = machine
        // Choices timed by an older engine (another key version) are dropped: kernel changes
        // move the crossovers (VGG16's 28x28x512 layer went from Winograd to im2col when large
        // weight panels moved to OpenBLAS).
        var current = cache
        current.choices = cache.choices.filter { $0.key.hasSuffix(Self.keyVersion) }
        changed = current.choices.count != cache.choices.count
        self.cache = current
        self.options = options
        self.candidates = candidates
    }

    /// Bumped when the kernels change enough to make earlier timings misleading. 7: the Winograd
    /// weight gradient became tile-major in L2-sized chunks after 6 was set, so weight-gradient
    /// choices timed under 6 could hold the old kernel's times (on Zen 4, deep-cnn's two 3x3 layers
    /// kept im2col's dW, 0.5 ms a step slower than F(4x4,3x3) in the model). 8: the weight
    /// gradient's dy tile and two-sided transform got 16-lane AVX-512 builds. 9: the Winograd tile
    /// transforms run a tail of fewer channels or filters than a vector on masked loads and stores
    /// (2-3x faster where C or K is under 16, as in first layers), so choices timed under 8 could
    /// hold Winograd's old times there. 10: on AVX2 the Winograd forward's chunks hold whole 6-row
    /// blocks of tiles (its GEMMs 1.1-1.2x faster on Zen 3). 11: the Winograd weight gradient pads
    /// each tile's block of V and D by a cache line (F(4x4,5x5) 1.2x faster on Zen 3), so choices
    /// timed under 10 could keep im2col's dW where Winograd's now wins.
    public static let keyVersion = " engine=11"

    /// The weight-gradient choice's key: "dW ", im2col's weight-gradient kernel, the layer's key
    /// (which ends in the key version).
    public static func weightGradientKey(_ g: ConvGeometry, threads: Int, options: ConvOptions, machine: String)
        -> String
    {
        "dW implicit=\(options.implicitWeightGradient ? 1 : 0) rounds=\(weightGradientRounds) "
            + key(g, threads: threads, options: options, machine: machine)
    }

    /// "<geometry> threads=T <kernel switches> machine=<identity> engine=V".
    public static func key(_ g: ConvGeometry, threads: Int, options: ConvOptions, machine: String) -> String {
        "\(g) threads=\(threads) \(options.kernelKey) machine=\(machine)\(keyVersion)"
    }

    /// The fastest applicable algorithm for `g` (whose n is the batch), timed on scratch data.
    public func choose(_ g: ConvGeometry, runner: ParallelRunner) throws -> AlgorithmChoice {
        let key = Self.key(g, threads: runner.width, options: options, machine: machine)
        let applicable = candidates.filter { (try? $0.check(g)) != nil }
        // A cached choice stands if it timed every applicable candidate (a new algorithm, such
        // as F(2x2,5x5), makes older choices for its shapes stale).
        if let c = cache.choices[key], applicable.allSatisfy({ c.secondsByAlgorithm[$0.rawValue] != nil }) { return c }
        let input = Tensor(shape: g.inputShape)
        let weights = Tensor(shape: g.weightShape)
        let bias = try Tensor([g.k])
        let output = Tensor(shape: g.outputShape)
        var rng = SeededGenerator(seed: 1)
        input.fillUniform(&rng)
        weights.fillUniform(&rng)
        var times: [String: Double] = [:]
        var best: (ConvAlgorithmKind, String?, Double)?
        // Under an AVX-512 cap, an algorithm whose kernel has an AVX-512 variant is also timed on
        // its AVX2 kernels: the wider tile is not faster on every layer and every machine.
        var narrower = options
        narrower.isa = "avx2"
        for kind in applicable {
            for isa in [nil, "avx2"] as [String?] {
                if isa != nil && options.isa != "avx512" { continue }
                let algo = try kind.make(g, options: isa == nil ? options : narrower)
                // Only where the narrower cap changes the kernel (naive, OpenBLAS paths: it does not).
                if isa != nil && algo.kernelISA != "avx2" { continue }
                try algo.forward(input: input, weights: weights, bias: bias, output: output, runner: runner)  // warm-up
                // Best of three: a single run on a shared machine is easily disturbed.
                var s = Double.infinity
                for _ in 0..<3 {
                    let t0 = monotonicNanos()
                    try algo.forward(input: input, weights: weights, bias: bias, output: output, runner: runner)
                    s = min(s, Double(monotonicNanos() - t0) * 1e-9)
                }
                times[kind.rawValue + (isa.map { "@\($0)" } ?? "")] = s
                if best == nil || s < best!.2 { best = (kind, isa, s) }
            }
        }
        guard let (kind, isa, _) = best else {
            throw ConvError.unsupported(algorithm: "auto", reason: "no candidate algorithm can run \(g)")
        }
        let choice = AlgorithmChoice(algorithm: kind, secondsByAlgorithm: times, isa: isa)
        cache.choices[key] = choice
        changed = true
        return choice
    }

    /// Alternated rounds that time the weight gradients (the medians decide).
    public static let weightGradientRounds = 6
    /// A Winograd weight gradient is chosen only when its median time is at most this fraction of
    /// im2col's: a wrong choice costs every training step, and this VM's timings drift by a fifth.
    public static let weightGradientMargin = 0.92

    /// The weight gradient of a layer whose forward runs Winograd: on one of the Winograd `candidates`
    /// (any transform that fits the kernel, whichever the forward runs) or im2col's colᵀ·dy. The
    /// cached choice when there is one that timed every candidate (so reruns train the same way), else
    /// `time`'s median seconds per algorithm (raw values; im2col's included), kept under
    /// `weightGradientKey`: the fastest Winograd candidate when it takes at most `weightGradientMargin`
    /// of im2col's time, else im2col.
    public func chooseWeightGradient(
        _ g: ConvGeometry, candidates: [ConvAlgorithmKind], runner: ParallelRunner, time: () -> [String: Double]
    ) -> AlgorithmChoice {
        let key = Self.weightGradientKey(g, threads: runner.width, options: options, machine: machine)
        if let c = cache.choices[key], candidates.allSatisfy({ c.secondsByAlgorithm[$0.rawValue] != nil }) {
            return c
        }
        let seconds = time()
        let im2col = seconds[ConvAlgorithmKind.im2col.rawValue] ?? .infinity
        let best = candidates.compactMap { k in seconds[k.rawValue].map { (k, $0) } }.min { $0.1 < $1.1 }
        let choice = AlgorithmChoice(
            algorithm: best.map { $0.1 <= Self.weightGradientMargin * im2col ? $0.0 : .im2col } ?? .im2col,
            secondsByAlgorithm: seconds)
        cache.choices[key] = choice
        changed = true
        return choice
    }
}
