import CKernels
import Tensor
import XCTest

@testable import Kernels

/// im2col's weight gradient without a column buffer (`cnns_conv_dweights_implicit`) and its scalar
/// reference against Double sums, within γ(pixels + 2)·Σ|products| per weight: the lab's layers
/// that take it and random shapes (strides, both paddings, tails of 6 rows and 16 columns; seed
/// printed, replay with CNNSCOPE_TEST_SEED), each in three pieces split mid-row as workers' ranges
/// may be; and the backward that calls it against the one that lowers a column buffer.
final class ImplicitWeightGradientTests: XCTestCase {
    static let labLayers = [
        "N=2,H=14,W=14,C=32,K=64,R=3", "N=2,H=7,W=7,C=64,K=128,R=3", "N=2,H=14,W=14,C=32,K=64,R=5",
        "N=1,H=16,W=16,C=32,K=64,R=3",
    ]

    func testEveryBuildMatchesDoubleSums() throws {
        let seed = ConvTester.randomSeed("ImplicitWeightGradientTests.testEveryBuildMatchesDoubleSums")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labLayers.map { try ConvGeometry.parse($0) }
        shapes.append(try ConvGeometry(n: 1, h: 5, w: 4, c: 3, k: 24, r: 3, s: 2, stride: 2, strideW: 1))
        for _ in 0..<10 {
            let r = 1 + rng.nextInt(5), s = 1 + rng.nextInt(5)
            shapes.append(
                try ConvGeometry(
                    n: 1 + rng.nextInt(2), h: r + rng.nextInt(12), w: s + rng.nextInt(12), c: 1 + rng.nextInt(20),
                    k: 8 * (1 + rng.nextInt(6)), r: r, s: s, stride: 1 + rng.nextInt(2), strideW: 1 + rng.nextInt(2),
                    padding: rng.nextInt(2) == 0 ? .same : .valid))
        }
        for (i, g) in shapes.enumerated() {
            var shape = g.cShape
            XCTAssertEqual(cnns_conv_dweights_implicit_fits(&shape), Blas.haveSmallGemm ? 1 : 0, "\(g)")
            let t = ConvTester(g, seed: seed &+ UInt64(i))
            var rng2 = SeededGenerator(seed: seed &+ 500 &+ UInt64(i))
            let dy = Tensor(shape: g.outputShape)
            dy.fillUniform(&rng2)
            let L = g.r * g.s * g.c, rows = g.n * g.p * g.q
            let (want, absSum, wantBias, _) = SmallPatchTests.weightGradientSums(g, input: t.input.data, dy: dy.data)
            let limit = ConvTester.gamma(rows + 2)
            let cuts = [0, rows / 3 + 1, 2 * rows / 3 + 5, rows].map { min($0, rows) }
            for (name, kernel) in [
                ("dispatch", cnns_conv_dweights_implicit), ("scalar", cnns_conv_dweights_implicit_scalar),
            ] {
                let dw = try Tensor([L, g.k]), db = try Tensor([g.k])
                for c in 0..<3 where cuts[c] < cuts[c + 1] {
                    kernel(&shape, t.input.data, dy.data, dw.data, db.data, cuts[c], cuts[c + 1])
                }
                for j in 0..<dw.count where !(abs(Double(dw.data[j]) - want[j]) <= limit * absSum[j] + 1e-30) {
                    XCTFail("dW \(name) on \(g) (seed \(seed)): [\(j)] = \(dw.data[j]) vs \(want[j])")
                    break
                }
                for k in 0..<g.k where abs(Double(db.data[k]) - wantBias[k]) > 1e-4 * max(1, abs(wantBias[k])) {
                    XCTFail("db \(name) on \(g) (seed \(seed)): [\(k)] = \(db.data[k]) vs \(wantBias[k])")
                    break
                }
            }
        }
        if !Blas.haveSmallGemm {
            print("ImplicitWeightGradientTests: no AVX2+FMA here: the dispatch ran the scalar reference")
        }
    }

    /// The backward with the implicit weight gradient against the one that lowers a column buffer
    /// for OpenBLAS (dX and db through the same code), on two workers.
    func testBackwardMatchesTheLoweredWeightGradient() throws {
        for text in Self.labLayers {
            let g = try ConvGeometry.parse(text)
            let t = ConvTester(g, seed: 7)
            var rng = SeededGenerator(seed: 8)
            let dy = Tensor(shape: g.outputShape)
            dy.fillUniform(&rng)
            var lowered = ConvOptions()
            lowered.implicitWeightGradient = false
            let L = g.r * g.s * g.c
            var results: [[Float]] = []
            for options in [ConvOptions(), lowered] {
                let bk = Im2colConv2DBackward(geometry: g, options: options)
                XCTAssertEqual(bk.usesImplicitWeightGradient, options.implicitWeightGradient && Blas.haveSmallGemm)
                let dw = try Tensor([L, g.k]), db = try Tensor([g.k]), dx = Tensor(shape: g.inputShape)
                bk.backward(
                    input: t.input.data, batch: g.n, weights: t.weights.data, dy: dy.data, dWeights: dw.data,
                    dBias: db.data, dInput: dx.data, runner: TwoThreadRunner())
                results.append(dw.array + db.array + dx.array)
            }
            // Sums of the same products in two orders: within 1e-4 of the tensors' largest entry
            // (a wrong patch, tap or pixel range moves entries by that entry's size).
            let scale = results[1].map { abs(Double($0)) }.max() ?? 1
            for (j, (a, b)) in zip(results[0], results[1]).enumerated()
            where !(abs(Double(a) - Double(b)) <= 1e-4 * scale) {
                XCTFail("\(g): [\(j)] implicit \(a) vs lowered \(b)")
                break
            }
        }
    }
}
