import Foundation
import Tensor
import XCTest

@testable import Kernels

/// The Winograd weight gradient (F(2x2,3x3), F(4x4,3x3), F(2x2,5x5)) against Double sums of
/// patchᵀ·dy, under every ISA this CPU has and on one and two workers: relative L2 error of dW
/// within the forward's Winograd tolerance for that transform, and no element off by more than
/// 10x that share of the largest |dW| (a wrong tap or a dropped tile is off by far more); db
/// within γ(N·P·Q + 2)·Σ|dy|. Shapes: the lab's 3x3 and 5x5 training layers (batch 4), odd sizes
/// whose last tiles are partial, valid padding, C = 1, and random shapes (seed printed).
final class WinogradWeightGradientTests: XCTestCase {
    func check(
        _ g: ConvGeometry, _ t: WinogradTransform, kind: ConvAlgorithmKind, seed: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let tester = ConvTester(g, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 17)
        let dy = Tensor(shape: g.outputShape)
        dy.fillUniform(&rng)
        let L = g.r * g.s * g.c
        var ref = [Double](repeating: 0, count: L * g.k), refDb = [Double](repeating: 0, count: g.k), absDb = refDb
        let x = tester.input.data
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    let d = dy.data + ((n * g.p + p) * g.q + q) * g.k
                    for k in 0..<g.k { refDb[k] += Double(d[k]); absDb[k] += abs(Double(d[k])) }
                    for r in 0..<g.r {
                        for s in 0..<g.s {
                            let ih = p - g.padTop + r, iw = q - g.padLeft + s
                            guard ih >= 0 && ih < g.h && iw >= 0 && iw < g.w else { continue }
                            let xrow = x + ((n * g.h + ih) * g.w + iw) * g.c
                            for c in 0..<g.c {
                                let xv = Double(xrow[c])
                                let o = ((r * g.s + s) * g.c + c) * g.k
                                for k in 0..<g.k { ref[o + k] += xv * Double(d[k]) }
                            }
                        }
                    }
                }
            }
        }
        let refMax = ref.map(abs).max() ?? 0
        let refNorm = ref.reduce(0) { $0 + $1 * $1 }.squareRoot()
        // The default chunk budget, and the smallest (24-tile chunks: several per worker).
        for isa in ConvOptions.availableISAs {
            for chunkBytes in [ConvOptions().winogradChunkBytes, 4096] {
                var options = ConvOptions(winogradChunkBytes: chunkBytes)
                options.isa = isa
                for runner in [SerialRunner(), TwoThreadRunner()] as [ParallelRunner] {
                    let wg = WinogradWeightGradient(geometry: g, transform: t, options: options)
                    let dw = try Tensor([L, g.k]), db = try Tensor([g.k])
                    dw.fill(.nan); db.fill(.nan)
                    wg.backward(
                        input: x, batch: g.n, dy: dy.data, dWeights: dw.data, dBias: db.data, runner: runner)
                    let what = """
                        \(t.name) dW --isa \(isa), \(wg.tilesPerChunk)-tile chunks, \(runner.width) worker(s) on \(g) \
                        (seed \(seed))
                        """
                    var err = 0.0, worst = 0.0
                    for i in 0..<dw.count {
                        let e = Double(dw.data[i]) - ref[i]
                        guard e.isFinite else {
                            XCTFail("\(what): dW[\(i)] = \(dw.data[i])", file: file, line: line); return
                        }
                        err += e * e
                        worst = max(worst, abs(e))
                    }
                    let tol = ConvTester.winogradTolerance(kind)
                    XCTAssertLessThanOrEqual(
                        err.squareRoot() / max(refNorm, 1e-30), tol, "\(what): relative L2", file: file, line: line)
                    XCTAssertLessThanOrEqual(worst, 10 * tol * refMax, "\(what): worst element", file: file, line: line)
                    let dbLimit = ConvTester.gamma(g.n * g.p * g.q + 2)
                    for k in 0..<g.k where !(abs(Double(db.data[k]) - refDb[k]) <= dbLimit * absDb[k] + 1e-30) {
                        XCTFail("\(what): db[\(k)] = \(db.data[k]) vs \(refDb[k])", file: file, line: line); break
                    }
                }
            }
        }
    }

    func testLabTrainingLayers() throws {
        let layers = [
            (14, 32, 64, 3), (7, 64, 128, 3), (28, 1, 32, 3), (14, 32, 64, 5), (28, 1, 32, 5), (14, 32, 64, 2),
            (28, 1, 32, 2),
        ]
        for (i, (h, c, k, r)) in layers.enumerated() {
            let g = try ConvGeometry(n: 4, h: h, w: h, c: c, k: k, r: r, padding: .same)
            if r == 3 {
                try check(g, .f2x3, kind: .winogradF2, seed: 300 + UInt64(i))
                try check(g, .f4x3, kind: .winogradF4, seed: 310 + UInt64(i))
            } else if r == 2 {
                try check(g, .f3x2, kind: .winogradF3x2, seed: 330 + UInt64(i))
            } else {
                try check(g, .f2x5, kind: .winogradF2x5, seed: 320 + UInt64(i))
                try check(g, .f4x5, kind: .winogradF4x5, seed: 340 + UInt64(i))
            }
        }
    }

    func testPartialTilesValidPaddingAndRandomShapes() throws {
        try check(
            try ConvGeometry(n: 2, h: 13, w: 11, c: 3, k: 24, r: 3, padding: .valid), .f4x3, kind: .winogradF4, seed: 1)
        try check(
            try ConvGeometry(n: 1, h: 9, w: 10, c: 5, k: 8, r: 5, padding: .same), .f2x5, kind: .winogradF2x5, seed: 2)
        try check(
            try ConvGeometry(n: 3, h: 5, w: 7, c: 2, k: 9, r: 3, padding: .same), .f2x3, kind: .winogradF2, seed: 3)
        let seed = ConvTester.randomSeed("WinogradWeightGradientTests.testPartialTilesValidPaddingAndRandomShapes")
        var rng = SeededGenerator(seed: seed)
        for i in 0..<6 {
            let r = [2, 3, 5][rng.nextInt(3)]
            let h = r + rng.nextInt(14), w = r + rng.nextInt(14)
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(3), h: h, w: w, c: 1 + rng.nextInt(20), k: 1 + rng.nextInt(40), r: r,
                padding: rng.nextInt(2) == 0 ? .same : .valid)
            let (t, kind): (WinogradTransform, ConvAlgorithmKind) =
                r == 5
                ? (i % 2 == 0 ? (.f2x5, .winogradF2x5) : (.f4x5, .winogradF4x5))
                : r == 2 ? (.f3x2, .winogradF3x2) : (i % 2 == 0 ? (.f2x3, .winogradF2) : (.f4x3, .winogradF4))
            try check(g, t, kind: kind, seed: seed &+ UInt64(i))
        }
    }
}
