import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The Dense layers' GEMMs (`cnns_sgemm_blocked`: C (+)= A·B and C (+)= Aᵀ·B; `cnns_sgemm_nt`:
/// C (+)= A·Bᵀ) against a Double reference, per element within γ(k+2)·Σ|a·b|, on random shapes that
/// cross the kernels' blocks (k past 256, m past 192, n tails below 16) and on the lab's Dense shapes.
final class BlockedGemmTests: XCTestCase {
    enum Form: String, CaseIterable { case nn, tn, nt }

    // C[m×n] (+)= op(A)·op(B): nn A m×k, B k×n; tn A k×m, B k×n; nt A m×k, B n×k
    func check(_ shapes: [(Int, Int, Int)], seed: UInt64, rng: inout SeededGenerator) throws {
        for (m, n, k) in shapes {
            for form in Form.allCases {
                let (aRows, aCols) = form == .tn ? (k, m) : (m, k)
                let (bRows, bCols) = form == .nt ? (n, k) : (k, n)
                let lda = aCols + rng.nextInt(3), ldb = bCols + rng.nextInt(3), ldc = n + rng.nextInt(3)
                let a = try Tensor([max(1, aRows * lda)]), b = try Tensor([max(1, bRows * ldb)])
                let c0 = try Tensor([m * ldc])
                a.fillUniform(&rng); b.fillUniform(&rng); c0.fillUniform(&rng)
                let accumulate = rng.nextInt(2) == 1
                let gamma = ConvTester.gamma(k + 2)
                let scratch = try Tensor([Int(cnns_sgemm_nt_scratch_floats(Int32(m), Int32(k)))])
                for (name, blocked, nt) in KernelVariants.blockedSgemm {
                    let c = c0.copy()
                    if !accumulate { c.fill(.nan) }
                    switch form {
                    case .nn, .tn:
                        blocked(
                            form == .tn ? 1 : 0, Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb),
                            c.data, Int32(ldc), accumulate ? 1 : 0)
                    case .nt:
                        nt(
                            Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), c.data, Int32(ldc),
                            accumulate ? 1 : 0, scratch.data)
                    }
                    for i in 0..<m {
                        for j in 0..<n {
                            let start = accumulate ? Double(c0.data[i * ldc + j]) : 0
                            var s = start, abs = Swift.abs(start)
                            for p in 0..<k {
                                let x = form == .tn ? a.data[p * lda + i] : a.data[i * lda + p]
                                let y = form == .nt ? b.data[j * ldb + p] : b.data[p * ldb + j]
                                let prod = Double(x) * Double(y)
                                s += prod
                                abs += Swift.abs(prod)
                            }
                            let got = Double(c.data[i * ldc + j])
                            if !(Swift.abs(got - s) <= gamma * abs + 1e-30) {
                                XCTFail(
                                    """
                                    \(name) \(form.rawValue): m=\(m) n=\(n) k=\(k) accumulate=\(accumulate) at \
                                    (\(i),\(j)): \(got), reference \(s), seed \(seed)
                                    """)
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    func testBlockedGemmsMatchReference() throws {
        KernelVariants.notRunHere("BlockedGemmTests")
        let seed = ConvTester.randomSeed("BlockedGemmTests.testBlockedGemmsMatchReference")
        var rng = SeededGenerator(seed: seed)
        var shapes = [(1, 1, 1), (12, 32, 256), (13, 33, 257), (193, 17, 5), (64, 10, 600), (5, 48, 0), (200, 64, 70)]
        for _ in 0..<8 { shapes.append((1 + rng.nextInt(210), 1 + rng.nextInt(80), 1 + rng.nextInt(600))) }
        try check(shapes, seed: seed, rng: &rng)
    }

    /// The lab's Dense layers at batch 64, one worker's half of the columns or features:
    /// basic-cnn 1600->64 (forward n = 32), small-filters 3136->128, and the 128->10 head.
    func testLabDenseShapes() throws {
        var rng = SeededGenerator(seed: 17)
        try check([(64, 32, 1600), (64, 64, 3136), (64, 10, 128), (800, 64, 64)], seed: 17, rng: &rng)
    }
}
