import CKernels
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

    /// A Dense layer's long k: the AVX2 kernel over copied panels (`cnns_sgemm_panels_avx2`, k in
    /// blocks of CNNS_SGEMM_PANEL_KC) gives the unpacked kernel's sums bit for bit (each block
    /// continues them in C), on random shapes with k past one, two and three blocks and column tails,
    /// and both match the Double reference.
    func testPanelsEqualTheUnpackedKernelBitForBit() throws {
        guard Blas.haveSmallGemm else {
            print("SmallGemmTests: this CPU lacks AVX2+FMA: the panel kernel did not run here")
            return
        }
        let seed = ConvTester.randomSeed("SmallGemmTests.testPanelsEqualTheUnpackedKernelBitForBit")
        var rng = SeededGenerator(seed: seed)
        let kc = Int(CNNS_SGEMM_PANEL_KC)
        var shapes = [(64, 128, 3 * kc + 17), (7, 16, kc + 1), (13, 40, 2 * kc), (6, 15, kc + 5), (64, 64, kc)]
        for _ in 0..<6 { shapes.append((1 + rng.nextInt(40), 1 + rng.nextInt(70), 1 + rng.nextInt(4 * kc))) }
        for (m, n, k) in shapes {
            let lda = k + rng.nextInt(3), ldb = n + rng.nextInt(3), ldc = n + rng.nextInt(3)
            let a = try Tensor([m * lda]), b = try Tensor([k * ldb]), c0 = try Tensor([m * ldc])
            a.fillUniform(&rng); b.fillUniform(&rng); c0.fillUniform(&rng)
            for accumulate: Int32 in [0, 1] {
                let plain = c0.copy(), panels = c0.copy()
                cnns_sgemm_nn_avx2(
                    Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), plain.data, Int32(ldc),
                    accumulate)
                cnns_sgemm_panels_avx2(
                    Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), panels.data, Int32(ldc),
                    accumulate)
                for e in 0..<m * ldc where plain.data[e].bitPattern != panels.data[e].bitPattern {
                    XCTFail(
                        """
                        m=\(m) n=\(n) k=\(k) accumulate=\(accumulate): panels \(panels.data[e]) at \(e), \
                        unpacked \(plain.data[e]), seed \(seed)
                        """)
                    return
                }
            }
        }
        try check(Array(shapes.prefix(5)), seed: seed, rng: &rng)
    }

    /// Winograd's transform-domain GEMMs on the lab's 3x3 layers: (tiles x C) · (C x K) per ξ.
    func testLabWinogradShapes() throws {
        var rng = SeededGenerator(seed: 11)
        // basic-cnn / deep-cnn at batch 64: 14x14x32->64 (F4: 16 tiles per image), 7x7x64->128,
        // 28x28x1->32 is small-patch; a chunk of tiles per worker as WinogradConv2D takes them.
        try check([(256, 64, 32), (144, 128, 64), (100, 64, 64), (64, 32, 16)], seed: 11, rng: &rng)
    }
}
