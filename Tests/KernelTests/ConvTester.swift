import Foundation
import Tensor
import XCTest

@testable import Kernels

/// Builds a convolution problem, runs an algorithm on it and compares with the Double
/// reference (in the spirit of NNPACK's ConvolutionTester): outputs are pre-filled with NaN
/// so an unwritten cell fails, and each algorithm has its own error limit.
struct ConvTester {
    let g: ConvGeometry
    let seed: UInt64
    let input: Tensor
    let weights: Tensor
    let bias: Tensor

    init(_ g: ConvGeometry, seed: UInt64) {
        self.g = g
        self.seed = seed
        var rng = SeededGenerator(seed: seed)
        input = Tensor(shape: g.inputShape)
        weights = Tensor(shape: g.weightShape)
        bias = try! Tensor([g.k])
        input.fillUniform(&rng, low: -1, high: 1)  // zero-mean data
        weights.fillUniform(&rng, low: -0.5, high: 0.5)
        bias.fillUniform(&rng, low: -0.1, high: 0.1)
    }

    /// The seed of a random-shape test: CNNSCOPE_TEST_SEED when set (to replay a failure), else a
    /// fresh one; printed either way, so a failure can be replayed.
    static func randomSeed(_ test: String) -> UInt64 {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["CNNSCOPE_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        print("\(test) seed \(seed) (replay with CNNSCOPE_TEST_SEED=\(seed))")
        return seed
    }

    /// γ_n = n·u / (1 − n·u): the worst-case relative error of any order of summing n rounded
    /// products (Higham), with u = 2⁻²⁴.
    static func gamma(_ n: Int) -> Double {
        let u = 1.0 / 16_777_216.0
        return Double(n) * u / (1 - Double(n) * u)
    }

    /// Per-output limit for naive and im2col: min(1e-5, γ(R·S·C + 2)) × Σ|products|.
    var directTolerance: Double { min(1e-5, Self.gamma(g.r * g.s * g.c + 2)) }

    /// Relative L2 limit for Winograd (the transforms add error growing with the tile size).
    static func winogradTolerance(_ kind: ConvAlgorithmKind) -> Double {
        // F(2x2,3x3) and F(3x3,2x2): four points 0, ±1, ∞; F(4x4,3x3) and F(2x2,5x5): six points up to ±2;
        // F(4x4,5x5): eight, with ±1/2 (measured 2-3e-6 on the lab's 5x5 layers).
        kind == .winogradF2 || kind == .winogradF3x2 ? 2e-5 : 1e-4
    }

    struct Errors { var maxScaled: Double; var maxAbs: Double; var relL2: Double }

    func run(
        _ kind: ConvAlgorithmKind, runner: ParallelRunner = SerialRunner(),
        options: ConvOptions = ConvOptions()
    ) throws -> Errors {
        let algo = try kind.make(g, options: options)
        let out = Tensor(shape: g.outputShape, zeroed: false)
        out.fill(.nan)
        try algo.forward(input: input, weights: weights, bias: bias, output: out, runner: runner)
        let ref = ReferenceConv2D.forward(g, input: input.data, weights: weights.data, bias: bias.data)
        var e = Errors(maxScaled: 0, maxAbs: 0, relL2: 0)
        var num = 0.0, den = 0.0
        for i in 0..<out.count {
            let y = Double(out.data[i])
            guard y.isFinite else { e.maxScaled = .infinity; e.maxAbs = .infinity; e.relL2 = .infinity; return e }
            let d = abs(y - ref.output[i])
            e.maxAbs = max(e.maxAbs, d)
            e.maxScaled = max(e.maxScaled, d / max(ref.absSum[i], 1e-30))
            num += d * d
            den += ref.output[i] * ref.output[i]
        }
        e.relL2 = (num / max(den, 1e-300)).squareRoot()
        return e
    }

    /// Runs every applicable algorithm under every ISA this CPU has (or only `options.isa`
    /// when `allISAs` is false) and asserts its limit; the message names shape, ISA and seed.
    func checkAll(
        runner: ParallelRunner = SerialRunner(), options: ConvOptions = ConvOptions(), allISAs: Bool = true,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for isa in allISAs ? ConvOptions.availableISAs : [options.isa] {
            var o = options
            o.isa = isa
            try checkAll(runner: runner, exactly: o, file: file, line: line)
        }
    }

    func checkAll(
        runner: ParallelRunner, exactly options: ConvOptions, file: StaticString, line: UInt
    ) throws {
        for kind in ConvAlgorithmKind.allCases {
            if (try? kind.check(g)) == nil { continue }
            let e = try run(kind, runner: runner, options: options)
            let what = "\(kind.rawValue) --isa \(options.isa) on \(g) (seed \(seed))"
            switch kind {
            case .naive, .im2col:
                XCTAssertLessThanOrEqual(
                    e.maxScaled, directTolerance,
                    "\(what): max |err|/Σ|products| = \(e.maxScaled)", file: file, line: line)
            case .winogradF2, .winogradF4, .winogradF2x5, .winogradF3x2, .winogradF4x5:
                XCTAssertLessThanOrEqual(
                    e.relL2, Self.winogradTolerance(kind),
                    "\(what): relative L2 error = \(e.relL2)", file: file, line: line)
            }
        }
    }
}
