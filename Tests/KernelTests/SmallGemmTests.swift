import Tensor
import XCTest

@testable import Kernels

/// The hand-written Winograd GEMM against a Double reference on random shapes (tails in every
/// dimension), with the per-element limit γ(k+1)·Σ|a·b|.
final class SmallGemmTests: XCTestCase {
    func testSmallGemmMatchesReference() throws {
        try XCTSkipUnless(
            Blas.haveSmallGemm, "no AVX2+FMA here: Winograd uses cblas_sgemm, which the convolution tests cover")
        let seed = ConvTester.randomSeed("SmallGemmTests.testSmallGemmMatchesReference")
        var rng = SeededGenerator(seed: seed)
        var shapes = [(6, 16, 1), (7, 17, 3), (1, 1, 1), (64, 64, 32), (13, 40, 9), (5, 7, 64)]
        for _ in 0..<10 { shapes.append((1 + rng.nextInt(50), 1 + rng.nextInt(70), 1 + rng.nextInt(90))) }
        for (m, n, k) in shapes {
            let lda = k + rng.nextInt(3), ldb = n + rng.nextInt(3), ldc = n + rng.nextInt(3)
            let a = try Tensor([m * lda]), b = try Tensor([k * ldb]), c = try Tensor([m * ldc])
            a.fillUniform(&rng); b.fillUniform(&rng)
            // Half the shapes accumulate into C (C += A·B), the others overwrite it.
            let accumulate = rng.nextInt(2) == 1
            c.fillUniform(&rng)
            let c0 = c.copy()
            if !accumulate { c.fill(.nan) }
            Blas.smallSgemm(
                m: m, n: n, k: k, a: a.data, lda: lda, b: b.data, ldb: ldb, c: c.data, ldc: ldc, accumulate: accumulate)
            let u = 1.0 / 16_777_216.0
            let gamma = Double(k + 2) * u / (1 - Double(k + 2) * u)
            for i in 0..<m {
                for j in 0..<n {
                    let start = accumulate ? Double(c0.data[i * ldc + j]) : 0
                    var s = start, abs = Swift.abs(start)
                    for p in 0..<k {
                        let prod = Double(a.data[i * lda + p]) * Double(b.data[p * ldb + j])
                        s += prod; abs += Swift.abs(prod)
                    }
                    let got = Double(c.data[i * ldc + j])
                    XCTAssertLessThanOrEqual(
                        Swift.abs(got - s), gamma * abs + 1e-30,
                        "m=\(m) n=\(n) k=\(k) accumulate=\(accumulate) at (\(i),\(j)), seed \(seed)")
                }
            }
        }
    }
}
