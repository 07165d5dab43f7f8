import Tensor
import XCTest

@testable import Kernels

/// The fused expand -> depthwise -> project pass (and depthwise -> project without the expand)
/// against a Double pipeline of the convolutions, under every ISA this CPU runs, on one and two
/// workers: MobileNetV2-like block shapes and random ones (seed printed). Limit per output:
/// γ(C + 9 + E + 6) times the pipeline run on absolute values (the clamps are 1-Lipschitz, so
/// they only shrink the error).
final class FusedInvertedResidualTests: XCTestCase {
    struct Block {
        var batch: Int, h: Int, w: Int, c: Int, e: Int, stride: Int, padTop: Int, padLeft: Int, k: Int?
        /// Without an expand stage the input is the depthwise's map (c = e).
        var expands = true
        var p: Int { (h + 2 * padTop - 3) / stride + 1 }
        var q: Int { (w + 2 * padLeft - 3) / stride + 1 }
    }

    func check(_ b: Block, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededGenerator(seed: seed)
        func tensor(_ n: Int, _ lo: Float, _ hi: Float) throws -> Tensor {
            let t = try Tensor([n]); t.fillUniform(&rng, low: lo, high: hi); return t
        }
        let x = try tensor(b.batch * b.h * b.w * b.c, -1, 1)
        let w1 = try tensor(b.c * b.e, -0.5, 0.5), b1 = try tensor(b.e, -0.2, 0.2)
        let w2 = try tensor(9 * b.e, -0.5, 0.5), b2 = try tensor(b.e, -0.2, 0.2)
        let k = b.k ?? b.e
        let w3 = try tensor(b.e * k, -0.5, 0.5), b3 = try tensor(k, -0.2, 0.2)
        let clamp1: ClosedRange<Float> = 0...6, clamp2: ClosedRange<Float> = -0.5...0.8
        // The Double pipeline, and the same on absolute values.
        let (P, Q, E) = (b.p, b.q, b.e)
        var e1 = [Double](repeating: 0, count: b.batch * b.h * b.w * E), a1 = e1
        for pix in 0..<(b.batch * b.h * b.w) where !b.expands {
            for j in 0..<E { e1[pix * E + j] = Double(x.data[pix * E + j]); a1[pix * E + j] = abs(e1[pix * E + j]) }
        }
        for pix in 0..<(b.batch * b.h * b.w) where b.expands {
            for j in 0..<E {
                var s = Double(b1.data[j]), a = abs(s)
                for i in 0..<b.c {
                    let prod = Double(x.data[pix * b.c + i]) * Double(w1.data[i * E + j])
                    s += prod; a += abs(prod)
                }
                e1[pix * E + j] = min(max(s, Double(clamp1.lowerBound)), Double(clamp1.upperBound)); a1[pix * E + j] = a
            }
        }
        var e2 = [Double](repeating: 0, count: b.batch * P * Q * E), a2 = e2
        for n in 0..<b.batch {
            for p in 0..<P {
                for q in 0..<Q {
                    for j in 0..<E {
                        var s = Double(b2.data[j]), a = abs(s)
                        for r in 0..<3 {
                            for t in 0..<3 {
                                let ih = p * b.stride + r - b.padTop, iw = q * b.stride + t - b.padLeft
                                guard ih >= 0, ih < b.h, iw >= 0, iw < b.w else { continue }
                                let i = ((n * b.h + ih) * b.w + iw) * E + j, wv = Double(w2.data[(r * 3 + t) * E + j])
                                s += e1[i] * wv; a += a1[i] * abs(wv)
                            }
                        }
                        let o = ((n * P + p) * Q + q) * E + j
                        e2[o] = min(max(s, Double(clamp2.lowerBound)), Double(clamp2.upperBound)); a2[o] = a
                    }
                }
            }
        }
        var want = e2, bound = a2
        if b.k != nil {
            want = [Double](repeating: 0, count: b.batch * P * Q * k); bound = want
            for pix in 0..<(b.batch * P * Q) {
                for j in 0..<k {
                    var s = Double(b3.data[j]), a = abs(s)
                    for i in 0..<E {
                        let wv = Double(w3.data[i * k + j])
                        s += e2[pix * E + i] * wv; a += a2[pix * E + i] * abs(wv)
                    }
                    want[pix * k + j] = s; bound[pix * k + j] = a
                }
            }
        }
        let limit = ConvTester.gamma(b.c + 9 + E + 6)
        let window = FusedInvertedResidual.Window(
            h: b.h, w: b.w, c: E, stride: b.stride, padTop: b.padTop, padLeft: b.padLeft, p: P, q: Q)
        let y = try Tensor([want.count])
        for isa in ConvOptions.availableISAs {
            for runner in [SerialRunner(), TwoThreadRunner()] as [ParallelRunner] {
                let pass = FusedInvertedResidual(
                    inputChannels: b.expands ? b.c : nil, depthwise: window, projectChannels: b.k,
                    options: ConvOptions(isa: isa))
                y.fill(.nan)
                pass.forward(
                    input: x.data, batch: b.batch,
                    expand: b.expands ? .init(weights: w1.data, version: 1, bias: b1.data, clamp: clamp1) : nil,
                    depthwise: .init(weights: w2.data, version: 1, bias: b2.data, clamp: clamp2),
                    project: b.k == nil ? nil : .init(weights: w3.data, version: 1, bias: b3.data, clamp: nil),
                    output: y.data, runner: runner)
                for i in 0..<want.count where !(abs(Double(y.data[i]) - want[i]) <= limit * bound[i] + 1e-30) {
                    XCTFail(
                        """
                        \(b) seed \(seed) isa \(isa) workers \(runner.width): output \(i) = \(y.data[i]), \
                        want \(want[i])
                        """,
                        file: file, line: line)
                    return
                }
            }
        }
    }

    /// MobileNetV2's block shapes, scaled down in width where the Double reference would be slow:
    /// stride 1 with same padding, stride 2 with the zero padding layer's (0, 1) absorbed.
    func testMobileNetV2LikeBlocks() throws {
        try check(Block(batch: 1, h: 28, w: 28, c: 24, e: 144, stride: 1, padTop: 1, padLeft: 1, k: 24), seed: 1)
        try check(Block(batch: 2, h: 14, w: 14, c: 32, e: 192, stride: 2, padTop: 0, padLeft: 0, k: 64), seed: 2)
        try check(Block(batch: 1, h: 7, w: 7, c: 160, e: 960, stride: 1, padTop: 1, padLeft: 1, k: 320), seed: 3)
        try check(Block(batch: 2, h: 12, w: 20, c: 16, e: 96, stride: 2, padTop: 0, padLeft: 0, k: nil), seed: 4)
        // MobileNetV2's first block: depthwise then project, no expand stage.
        try check(
            Block(batch: 1, h: 30, w: 30, c: 32, e: 32, stride: 1, padTop: 1, padLeft: 1, k: 16, expands: false),
            seed: 5)
    }

    func testRandomBlocks() throws {
        let seed = ConvTester.randomSeed("FusedInvertedResidualTests.testRandomBlocks")
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<12 {
            let stride = 1 + rng.nextInt(2), pad = rng.nextInt(2)
            var b = Block(
                batch: 1 + rng.nextInt(3), h: 3 + rng.nextInt(12), w: 3 + rng.nextInt(20), c: 1 + rng.nextInt(24),
                e: 1 + rng.nextInt(50), stride: stride, padTop: pad, padLeft: pad,
                k: rng.nextInt(3) == 0 ? nil : 1 + rng.nextInt(40))
            if rng.nextInt(4) == 0 { b.expands = false; b.c = b.e }
            try check(b, seed: seed)
        }
    }
}
