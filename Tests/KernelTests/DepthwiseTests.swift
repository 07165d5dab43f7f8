import Tensor
import XCTest

@testable import Kernels

/// The vectorised depthwise kernel against the Double reference: random shapes (seed printed)
/// and MobileNetV2's real depthwise shapes, forward with a per-output limit γ(R·S+2)·Σ|products|,
/// backward against finite sums computed in Double.
final class DepthwiseTests: XCTestCase {
    func check(
        _ g: ConvGeometry, seed: UInt64, runner: ParallelRunner = SerialRunner(), file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor(shape: g.inputShape), w = try Tensor([g.r, g.s, g.c, 1]), b = try Tensor([g.c])
        x.fillUniform(&rng); w.fillUniform(&rng, low: -0.5, high: 0.5); b.fillUniform(&rng, low: -0.1, high: 0.1)
        let y = try Tensor([g.n, g.p, g.q, g.c])
        y.fill(.nan)  // an unwritten output fails
        let k = try DepthwiseConv2D(geometry: g)
        let ref = ReferenceDepthwiseConv2D.forward(g, input: x.data, weights: w.data, bias: b.data)
        let limit = ConvTester.gamma(g.r * g.s + 2)
        // Every variant this machine runs (rows split in two, as two workers would), and the layer's
        // path through `forward` under each ISA the CPU has, against Double.
        var shape = g.cShape
        var runs: [(String, () -> Void)] = KernelVariants.depthwise.map { name, kernel in
            (
                name,
                {
                    let half = g.n * g.p / 2
                    kernel(&shape, x.data, w.data, b.data, 1, -0.7, 0.9, y.data, 0, half)
                    kernel(&shape, x.data, w.data, b.data, 1, -0.7, 0.9, y.data, half, g.n * g.p)
                }
            )
        }
        for isa in ConvOptions.availableISAs {
            runs.append(
                (
                    "forward --isa \(isa)",
                    {
                        k.forward(
                            input: x.data, batch: g.n, weights: w.data, bias: b.data, output: y.data, runner: runner,
                            clamp: -0.7...0.9, options: ConvOptions(isa: isa))
                    }
                ))
        }
        for (name, run) in runs {
            y.fill(.nan)
            run()
            for i in 0..<y.count {
                let want = min(max(ref.output[i], -0.7), 0.9)
                let err = abs(Double(y.data[i]) - want)
                if !(err <= limit * ref.absSum[i] + 1e-30) {
                    XCTFail(
                        "depthwise \(g) seed \(seed) (\(name)): output \(i) = \(y.data[i]), reference \(want)",
                        file: file, line: line)
                    return
                }
            }
        }
        // Backward: dW, dB and dX against Double sums over the same index sets.
        let dy = try Tensor([g.n, g.p, g.q, g.c]); dy.fillUniform(&rng)
        let dw = try Tensor([g.r, g.s, g.c, 1]), db = try Tensor([g.c]), dx = Tensor(shape: g.inputShape)
        dx.fill(.nan)
        k.backward(
            input: x.data, batch: g.n, weights: w.data, dy: dy.data, dWeights: dw.data, dBias: db.data, dInput: dx.data,
            runner: runner)
        var rdw = [Double](repeating: 0, count: dw.count), rdb = [Double](repeating: 0, count: g.c),
            rdx = [Double](repeating: 0, count: dx.count)
        var adw = rdw, adx = rdx
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    for c in 0..<g.c {
                        let d = Double(dy.data[((n * g.p + p) * g.q + q) * g.c + c])
                        rdb[c] += d
                        for r in 0..<g.r {
                            for s in 0..<g.s {
                                let ih = p * g.strideH - g.padTop + r, iw = q * g.strideW - g.padLeft + s
                                guard ih >= 0 && ih < g.h && iw >= 0 && iw < g.w else { continue }
                                let xi = ((n * g.h + ih) * g.w + iw) * g.c + c, wi = (r * g.s + s) * g.c + c
                                rdw[wi] += d * Double(x.data[xi]); adw[wi] += abs(d * Double(x.data[xi]))
                                rdx[xi] += d * Double(w.data[wi]); adx[xi] += abs(d * Double(w.data[wi]))
                            }
                        }
                    }
                }
            }
        }
        let bigLimit = ConvTester.gamma(g.n * g.p * g.q + 2)
        for i in 0..<dw.count {
            XCTAssertLessThanOrEqual(
                abs(Double(dw.data[i]) - rdw[i]), bigLimit * adw[i] + 1e-30, "dW[\(i)] \(g) seed \(seed)", file: file,
                line: line)
        }
        for c in 0..<g.c {
            XCTAssertEqual(
                Double(db.data[c]), rdb[c], accuracy: bigLimit * Double(g.n * g.p * g.q) + 1e-6, "dB \(g)", file: file,
                line: line)
        }
        for i in 0..<dx.count where !(abs(Double(dx.data[i]) - rdx[i]) <= limit * adx[i] + 1e-30) {
            XCTFail("dX[\(i)] = \(dx.data[i]) vs \(rdx[i]) \(g) seed \(seed)", file: file, line: line); return
        }
    }

    func testRandomShapes() throws {
        let seed = ConvTester.randomSeed("DepthwiseTests.testRandomShapes")
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<16 {
            let stride = 1 + rng.nextInt(2), r = [1, 3, 5][rng.nextInt(3)]
            let h = r + rng.nextInt(12), w = r + rng.nextInt(20), c = 1 + rng.nextInt(70)
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(3), h: h, w: w, c: c, k: c, r: r, stride: stride,
                padding: rng.nextInt(2) == 0 ? .same : .valid)
            try check(g, seed: seed)
            try check(g, seed: seed, runner: TwoThreadRunner())
        }
    }

    /// MobileNetV2's depthwise layers (224x224 input), batch 1, both stride kinds.
    func testMobileNetV2Shapes() throws {
        for (h, c, s) in [
            (112, 32, 1), (113, 96, 2), (56, 144, 1), (29, 192, 2), (14, 384, 1), (15, 576, 2), (7, 960, 1),
        ] {
            try check(
                try ConvGeometry(n: 1, h: h, w: h, c: c, k: c, r: 3, stride: s, padding: s == 1 ? .same : .valid),
                seed: 3, runner: TwoThreadRunner())
        }
    }

    func testVariantsNotRunHere() { KernelVariants.notRunHere("DepthwiseTests") }

    func testDepthMultiplierOtherThanOneIsATypedError() {
        XCTAssertThrowsError(try DepthwiseConv2D(geometry: try ConvGeometry(n: 1, h: 5, w: 5, c: 3, k: 6, r: 3))) {
            XCTAssertTrue("\($0)".contains("depth multiplier 1"))
        }
    }
}
