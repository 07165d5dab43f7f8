import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The weight gradient's dy tile, D = A δ Aᵀ with the bias gradient's Σ δ added to db, in every
/// build this machine runs (the plain C reference, the 16-lane code as w16, AVX2, AVX-512) against
/// Double sums: every transform's A (α×m) and a random one of its shape, edge tiles with fewer rows
/// or columns inside the map, and filter counts that leave a tail of fewer than 16 (and of fewer
/// than 8). Limit per value: γ(2m + 2) times the sum of the absolute terms; db within γ(m² + 1) of
/// its Double sum.
final class WinogradDyTileTests: XCTestCase {
    func testEveryBuildMatchesDoubleSums() throws {
        let seed = ConvTester.randomSeed("WinogradDyTileTests.testEveryBuildMatchesDoubleSums")
        var rng = SeededGenerator(seed: seed)
        KernelVariants.notRunHere("WinogradDyTileTests")
        for t in [WinogradTransform.f2x3, .f4x3, .f2x5, .f3x2, .f4x5] {
            let a = t.alpha, m = t.m
            // A (α×m) = the transpose of Aᵀ (m×α), as WinogradWeightGradient builds it.
            let own: [Float] = (0..<a).flatMap { i in (0..<m).map { j in t.AT[j][i] } }
            // Any other A (the kernels' general path): random coefficients, some of them zero.
            let other: [Float] = (0..<a * m).map { _ in rng.nextInt(4) == 0 ? 0 : Float(rng.nextInt(9)) / 4 - 1 }
            for trial in 0..<8 {
                let A = trial < 4 ? own : other
                let K = [16, 64, 1 + rng.nextInt(70), 1 + rng.nextInt(7)][trial % 4]
                let rows = trial == 0 ? m : 1 + rng.nextInt(m), cols = trial == 0 ? m : 1 + rng.nextInt(m)
                let q = m + rng.nextInt(3)  // pixels per row of the map
                let dy = try Tensor([m * q * K])
                dy.fillUniform(&rng)
                let db0 = try Tensor([K])
                db0.fillUniform(&rng)
                for (name, kernel) in KernelVariants.winogradDyTile {
                    let d = try Tensor([a * a * K]), db = try Tensor([K]), tmp = try Tensor([a * m * K])
                    d.fill(.nan)
                    db.data.update(from: db0.data, count: K)
                    A.withUnsafeBufferPointer { ap in
                        kernel(
                            Int32(a), Int32(m), ap.baseAddress, dy.data, q * K, Int32(rows), Int32(cols), Int32(K),
                            d.data, K, tmp.data, db.data)
                    }
                    let which = t.name + (trial < 4 ? "" : " (other A)")
                    let what = "\(which) rows \(rows) cols \(cols) K \(K), \(name), seed \(seed)"
                    for k in 0..<K {
                        var sum = Double(db0.data[k]), abs = Swift.abs(sum)
                        for i in 0..<rows {
                            for j in 0..<cols {
                                let x = Double(dy.data[(i * q + j) * K + k])
                                sum += x
                                abs += Swift.abs(x)
                            }
                        }
                        let got = Double(db.data[k])
                        if Swift.abs(got - sum) > ConvTester.gamma(m * m + 1) * abs + 1e-30 {
                            return XCTFail("\(what): db[\(k)] = \(got), Double \(sum)")
                        }
                    }
                    for xa in 0..<a {
                        for xb in 0..<a {
                            for k in 0..<K {
                                var sum = 0.0, abs = 0.0
                                for i in 0..<rows {
                                    for j in 0..<cols {
                                        let term =
                                            Double(A[xa * m + i]) * Double(dy.data[(i * q + j) * K + k])
                                            * Double(A[xb * m + j])
                                        sum += term
                                        abs += Swift.abs(term)
                                    }
                                }
                                let got = Double(d.data[(xa * a + xb) * K + k])
                                if !(Swift.abs(got - sum) <= ConvTester.gamma(2 * m + 2) * abs + 1e-30) {
                                    return XCTFail("\(what): D[\(xa)][\(xb)][\(k)] = \(got), Double \(sum)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
