import Tensor
import XCTest

@testable import Kernels

/// The hand-written small GEMMs (AVX2 6x16, the AVX-512 12x32 and its 16-lane code on AVX2)
/// against a Double reference on random shapes (tails in every dimension) and on the lab's
/// Winograd transform-domain shapes, with the per-element limit γ(k+2)·Σ|a·b|.
final class SmallGemmTests: XCTestCase {
    func check(_ shapes: [(Int, Int, Int)], seed: UInt64, rng: inout SeededGenerator) throws {
        for (m, n, k) in shapes {
            let lda = k + rng.nextInt(3), ldb = n + rng.nextInt(3), ldc = n + rng.nextInt(3)
            let a = try Tensor([m * lda]), b = try Tensor([k * ldb]), c0 = try Tensor([m * ldc])
            a.fillUniform(&rng); b.fillUniform(&rng); c0.fillUniform(&rng)
            // Half the shapes accumulate into C (C += A·B), the others overwrite it.
            let accumulate = rng.nextInt(2) == 1
            let gamma = ConvTester.gamma(k + 2)
            for (name, kernel) in KernelVariants.sgemm {
                let c = c0.copy()
                if !accumulate { c.fill(.nan) }
                kernel(
                    Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), c.data, Int32(ldc),
                    accumulate ? 1 : 0)
                for i in 0..<m {
                    for j in 0..<n {
                        let start = accumulate ? Double(c0.data[i * ldc + j]) : 0
                        var s = start, abs = Swift.abs(start)
                        for p in 0..<k {
                            let prod = Double(a.data[i * lda + p]) * Double(b.data[p * ldb + j])
                            s += prod; abs += Swift.abs(prod)
                        }
                        let got = Double(c.data[i * ldc + j])
                        if !(Swift.abs(got - s) <= gamma * abs + 1e-30) {
                            XCTFail(
                                """
                                \(name): m=\(m) n=\(n) k=\(k) accumulate=\(accumulate) at (\(i),\(j)): \(got), \
                                reference \(s), seed \(seed)
                                """)
                            return
                        }
                    }
                }
            }
        }
    }

    func testSmallGemmMatchesReference() throws {
        KernelVariants.notRunHere("SmallGemmTests")
        let seed = ConvTester.randomSeed("SmallGemmTests.testSmallGemmMatchesReference")
        var rng = SeededGenerator(seed: seed)
        var shapes = [
            (6, 16, 1), (7, 17, 3), (1, 1, 1), (64, 64, 32), (13, 40, 9), (5, 7, 64), (12, 32, 5), (25, 48, 130),
            (3, 1, 4), (11, 31, 1),
        ]
        for _ in 0..<12 { shapes.append((1 + rng.nextInt(50), 1 + rng.nextInt(70), 1 + rng.nextInt(90))) }
        try check(shapes, seed: seed, rng: &rng)
    }

    /// Winograd's transform-domain GEMMs on the lab's 3x3 layers: (tiles x C) · (C x K) per ξ.
    func testLabWinogradShapes() throws {
        var rng = SeededGenerator(seed: 11)
        // basic-cnn / deep-cnn at batch 64: 14x14x32->64 (F4: 16 tiles per image), 7x7x64->128,
        // 28x28x1->32 is small-patch; a chunk of tiles per worker as WinogradConv2D takes them.
        try check([(256, 64, 32), (144, 128, 64), (100, 64, 64), (64, 32, 16)], seed: 11, rng: &rng)
    }
}
