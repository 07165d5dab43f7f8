import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The two-sided transform in C (AVX2 where the CPU has it, and its plain reference) against Double
/// sums, for every transform's filter side (G·g·Gᵀ: rows α, n r) and weight-gradient side (Gᵀ·M·G:
/// rows r, n α), on random channel and filter counts that leave a tail of fewer than eight filters,
/// and a channel range that is not the whole stack (the rest of the output must stay untouched).
/// Limit per value: γ(2n + 2) times the sum of the absolute terms, the worst case of summing those
/// terms in any order with or without FMA contraction.
final class WinogradTwoSidedTests: XCTestCase {
    func testBothBuildsMatchDoubleSums() throws {
        let seed = ConvTester.randomSeed("WinogradTwoSidedTests.testBothBuildsMatchDoubleSums")
        var rng = SeededGenerator(seed: seed)
        let builds = KernelVariants.winogradTwoSided
        KernelVariants.notRunHere("WinogradTwoSidedTests")
        for t in [WinogradTransform.f2x3, .f4x3, .f2x5, .f3x2, .f4x5] {
            let a = t.alpha, r = t.r
            for (rows, n, L) in [(a, r, t.gFlat), (r, a, t.gtFlat)] {
                for _ in 0..<3 {
                    let C = 1 + rng.nextInt(20), K = 1 + rng.nextInt(56)
                    let input = try Tensor([n * n * C * K])
                    input.fillUniform(&rng)
                    let c0 = rng.nextInt(C), c1 = c0 + 1 + rng.nextInt(C - c0)
                    for (name, kernel) in builds {
                        let out = try Tensor([rows * rows * C * K])
                        out.fill(.nan)
                        L.withUnsafeBufferPointer { l in
                            kernel(
                                Int32(rows), Int32(n), l.baseAddress, input.data, Int32(C), Int32(K), Int32(c0),
                                Int32(c1), out.data)
                        }
                        let what = "\(t.name) rows \(rows) n \(n) C \(C) K \(K) channels \(c0)..<\(c1), \(name)"
                        try check(rows, n, L, input.data, C, K, c0, c1, out.data, what: what + ", seed \(seed)")
                    }
                }
            }
        }
    }

    private func check(
        _ rows: Int, _ n: Int, _ L: [Float], _ x: UnsafePointer<Float>, _ C: Int, _ K: Int, _ c0: Int, _ c1: Int,
        _ out: UnsafePointer<Float>, what: String
    ) throws {
        let limit = ConvTester.gamma(2 * n + 2)
        for i in 0..<rows {
            for j in 0..<rows {
                for c in 0..<C {
                    for k in 0..<K {
                        let got = out[((i * rows + j) * C + c) * K + k]
                        guard c >= c0 && c < c1 else {
                            if !got.isNaN { return XCTFail("\(what): channel \(c) outside the range was written") }
                            continue
                        }
                        var sum = 0.0, abs = 0.0
                        for r in 0..<n {
                            for s in 0..<n {
                                let term =
                                    Double(L[i * n + r]) * Double(x[((r * n + s) * C + c) * K + k])
                                    * Double(L[j * n + s])
                                sum += term
                                abs += Swift.abs(term)
                            }
                        }
                        if Swift.abs(Double(got) - sum) > limit * abs + 1e-30 {
                            return XCTFail("\(what): out[\(i)][\(j)][\(c)][\(k)] = \(got), Double \(sum)")
                        }
                    }
                }
            }
        }
    }
}
