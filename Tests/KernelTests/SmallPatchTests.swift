import CKernels
import Tensor
import XCTest

@testable import Kernels

/// im2col's small-patch path (R·S·C ≤ 80, K a multiple of 8: first layers) against the Double
/// reference, forward (per-output limit γ(L+2)·Σ|products|) and backward (dW, db: limit
/// γ(N·P·Q+2)·Σ|products|), on random shapes (seed printed) and the lab's first layers; and
/// the AVX2 C kernels against their scalar references.
final class SmallPatchTests: XCTestCase {
    func check(
        _ g: ConvGeometry, seed: UInt64, runner: ParallelRunner = SerialRunner(),
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let t = ConvTester(g, seed: seed)
        let fwd = Im2colConv2D(geometry: g, options: ConvOptions())
        XCTAssertTrue(fwd.usesSmallPatchKernel, "\(g) should take the small-patch path", file: file, line: line)
        let e = try t.run(.im2col, runner: runner)
        XCTAssertLessThanOrEqual(
            e.maxScaled, t.directTolerance, "forward \(g) seed \(seed): \(e.maxScaled)", file: file, line: line)

        // Backward: dW and db against Double sums over the same index sets.
        var rng = SeededGenerator(seed: seed &+ 1)
        let dy = try Tensor([g.n, g.p, g.q, g.k]); dy.fillUniform(&rng)
        let L = g.r * g.s * g.c
        let dw = try Tensor([L, g.k]), db = try Tensor([g.k])
        dw.fill(.nan); db.fill(.nan)
        let bwd = Im2colConv2DBackward(geometry: g)
        bwd.backward(
            input: t.input.data, batch: g.n, weights: t.weights.data, dy: dy.data, dWeights: dw.data,
            dBias: db.data, dInput: nil, runner: runner)
        let (rdw, adw, rdb, adb) = Self.weightGradientSums(g, input: t.input.data, dy: dy.data)
        let limit = ConvTester.gamma(g.n * g.p * g.q + 2)
        for i in 0..<dw.count where !(abs(Double(dw.data[i]) - rdw[i]) <= limit * adw[i] + 1e-30) {
            XCTFail("dW[\(i)] = \(dw.data[i]) vs \(rdw[i]) on \(g) seed \(seed)", file: file, line: line); return
        }
        for k in 0..<g.k where !(abs(Double(db.data[k]) - rdb[k]) <= limit * adb[k] + 1e-30) {
            XCTFail("db[\(k)] = \(db.data[k]) vs \(rdb[k]) on \(g) seed \(seed)", file: file, line: line); return
        }
    }

    /// Double reference of one pixel's weight-gradient term: dW[l][k] += patch(n,p,q)[l] · d,
    /// and |patch · d| into `abs` (for the error limit).
    /// Double sums of dW = Σ patchᵀ·dy and db = Σ dy over every output pixel, with the sums of
    /// the products' magnitudes (the error bounds' scale).
    static func weightGradientSums(_ g: ConvGeometry, input: UnsafePointer<Float>, dy: UnsafePointer<Float>)
        -> (dw: [Double], absDw: [Double], db: [Double], absDb: [Double])
    {
        var dw = [Double](repeating: 0, count: g.r * g.s * g.c * g.k), adw = dw
        var db = [Double](repeating: 0, count: g.k), adb = db
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    let d = dy + ((n * g.p + p) * g.q + q) * g.k
                    for k in 0..<g.k {
                        db[k] += Double(d[k]); adb[k] += abs(Double(d[k]))
                        addPatch(g, input: input, n: n, p: p, q: q, channel: k, times: Double(d[k]), to: &dw, abs: &adw)
                    }
                }
            }
        }
        return (dw, adw, db, adb)
    }

    static func addPatch(
        _ g: ConvGeometry, input: UnsafePointer<Float>, n: Int, p: Int, q: Int, channel k: Int,
        times d: Double, to dw: inout [Double], abs adw: inout [Double]
    ) {
        for r in 0..<g.r {
            for s in 0..<g.s {
                let ih = p * g.strideH - g.padTop + r, iw = q * g.strideW - g.padLeft + s
                guard ih >= 0 && ih < g.h && iw >= 0 && iw < g.w else { continue }
                for c in 0..<g.c {
                    let x = Double(input[((n * g.h + ih) * g.w + iw) * g.c + c])
                    let l = (r * g.s + s) * g.c + c
                    dw[l * g.k + k] += x * d; adw[l * g.k + k] += Swift.abs(x * d)
                }
            }
        }
    }

    func testRandomShapes() throws {
        let seed = ConvTester.randomSeed("SmallPatchTests.testRandomShapes")
        var rng = SeededGenerator(seed: seed)
        var done = 0
        while done < 16 {
            let c = 1 + rng.nextInt(4), r = 1 + rng.nextInt(5), s = 1 + rng.nextInt(5)
            let stride = 1 + rng.nextInt(3)
            guard r * s * c <= 80, r * s > 1 || stride > 1 else { continue }
            let k = 8 * (1 + rng.nextInt(8))
            let h = r + rng.nextInt(14), w = s + rng.nextInt(14)
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(3), h: h, w: w, c: c, k: k, r: r, s: s, stride: stride,
                padding: rng.nextInt(2) == 0 ? .same : .valid)
            try check(g, seed: seed &+ UInt64(done), runner: done % 2 == 0 ? SerialRunner() : TwoThreadRunner())
            done += 1
        }
    }

    /// The lab's first layers: 28x28x1 and 32x32x3 inputs, 2x2 to 5x5 kernels, 8 to 64 filters.
    func testLabFirstLayers() throws {
        let shapes: [(h: Int, c: Int, k: Int, r: Int)] = [
            (28, 1, 32, 3), (28, 1, 32, 5), (28, 1, 32, 2), (28, 1, 8, 3),
            (28, 1, 16, 3), (32, 3, 32, 3), (32, 3, 64, 3), (32, 3, 32, 5),
        ]
        for (i, sh) in shapes.enumerated() {
            let g = try ConvGeometry(n: 2, h: sh.h, w: sh.h, c: sh.c, k: sh.k, r: sh.r, padding: .same)
            try check(g, seed: UInt64(100 + i), runner: TwoThreadRunner())
        }
    }

    /// Shapes the path must decline: K not a multiple of 8, receptive field over 80, 1x1 stride 1.
    func testDeclinedShapes() throws {
        for g in [
            try ConvGeometry(n: 1, h: 8, w: 8, c: 1, k: 12, r: 3),
            try ConvGeometry(n: 1, h: 8, w: 8, c: 9, k: 16, r: 3),
            try ConvGeometry(n: 1, h: 8, w: 8, c: 4, k: 16, r: 1),
        ] {
            XCTAssertFalse(Im2colConv2D(geometry: g, options: ConvOptions()).usesSmallPatchKernel, "\(g)")
        }
    }

    /// Every vector build of the kernels (AVX2, the 16-lane AVX-512 code as w16, AVX-512 where
    /// the CPU has it) and the scalar reference against Double sums: forward within
    /// γ(L+2)·Σ|products| per output, dW within γ(pixels+2)·Σ|products|, db within 1e-4. Each
    /// build runs in three pieces split mid-row (as workers' ranges may be). Shapes: channel
    /// counts that leave every tail (K % 32 = 8, 16, 24), strides, valid and same padding, runs
    /// shorter than a block; the lab's first layers; random shapes (seed printed).
    func testEveryBuildMatchesDoubleReference() throws {
        var shapes = [
            try ConvGeometry(n: 2, h: 13, w: 11, c: 3, k: 40, r: 3, stride: 2),
            try ConvGeometry(n: 1, h: 28, w: 28, c: 1, k: 32, r: 5),
            try ConvGeometry(n: 1, h: 9, w: 30, c: 2, k: 24, r: 2, s: 4, padding: .valid),
            try ConvGeometry(n: 1, h: 7, w: 5, c: 4, k: 8, r: 3, padding: .valid),
            try ConvGeometry(n: 2, h: 28, w: 28, c: 1, k: 16, r: 3),
            try ConvGeometry(n: 1, h: 32, w: 32, c: 3, k: 64, r: 5),
            try ConvGeometry(n: 1, h: 6, w: 40, c: 2, k: 56, r: 4, s: 3, stride: 3, padding: .valid),
        ]
        let seed = ConvTester.randomSeed("SmallPatchTests.testEveryBuildMatchesDoubleReference")
        var rng = SeededGenerator(seed: seed)
        while shapes.count < 13 {
            let c = 1 + rng.nextInt(4), r = 1 + rng.nextInt(5), s = 1 + rng.nextInt(5)
            guard r * s * c <= 80, r * s > 1 else { continue }
            shapes.append(
                try ConvGeometry(
                    n: 1 + rng.nextInt(2), h: r + rng.nextInt(20), w: s + rng.nextInt(30), c: c,
                    k: 8 * (1 + rng.nextInt(9)), r: r, s: s, stride: 1 + rng.nextInt(2),
                    padding: rng.nextInt(2) == 0 ? .same : .valid))
        }
        for (i, g) in shapes.enumerated() {
            let t = ConvTester(g, seed: seed &+ UInt64(i))
            let ref = ReferenceConv2D.forward(g, input: t.input.data, weights: t.weights.data, bias: t.bias.data)
            var shape = g.cShape
            let rows = g.n * g.p * g.q, L = g.r * g.s * g.c
            let cuts = [0, rows / 3 + 1, 2 * rows / 3 + 5, rows].map { min($0, rows) }
            var rng2 = SeededGenerator(seed: seed &+ 1000 &+ UInt64(i))
            let dy = Tensor(shape: g.outputShape); dy.fillUniform(&rng2)
            let (rdw, adw, rdb, _) = Self.weightGradientSums(g, input: t.input.data, dy: dy.data)
            let limit = ConvTester.gamma(g.n * g.p * g.q + 2)
            for (name, forward, weights) in KernelVariants.smallPatch {
                let what = "\(name) on \(g) (seed \(seed))"
                let out = Tensor(shape: g.outputShape, zeroed: false)
                out.fill(.nan)
                for c in 0..<3 where cuts[c] < cuts[c + 1] {
                    forward(&shape, t.input.data, t.weights.data, t.bias.data, 0, 0, 0, out.data, cuts[c], cuts[c + 1])
                }
                for j in 0..<out.count
                where !(abs(Double(out.data[j]) - ref.output[j]) <= t.directTolerance * ref.absSum[j] + 1e-30) {
                    XCTFail("forward \(what): [\(j)] = \(out.data[j]) vs \(ref.output[j])"); break
                }
                let dw = try Tensor([L, g.k]), db = try Tensor([g.k])
                for c in 0..<3 where cuts[c] < cuts[c + 1] {
                    weights(&shape, t.input.data, dy.data, dw.data, db.data, cuts[c], cuts[c + 1])
                }
                for j in 0..<dw.count where !(abs(Double(dw.data[j]) - rdw[j]) <= limit * adw[j] + 1e-30) {
                    XCTFail("dW \(what): [\(j)] = \(dw.data[j]) vs \(rdw[j])"); break
                }
                for k in 0..<g.k where abs(Double(db.data[k]) - rdb[k]) > 1e-4 * max(1, abs(rdb[k])) {
                    XCTFail("db \(what): [\(k)] = \(db.data[k]) vs \(rdb[k])"); break
                }
            }
        }
        KernelVariants.notRunHere("SmallPatchTests.testEveryBuildMatchesDoubleReference")
    }

    /// The clamp of every build: outputs of a clamped forward equal the unclamped ones clamped.
    func testEveryBuildClamps() throws {
        let g = try ConvGeometry(n: 1, h: 12, w: 14, c: 3, k: 24, r: 3)
        let t = ConvTester(g, seed: 77)
        var shape = g.cShape
        let rows = g.n * g.p * g.q
        for (name, forward, _) in KernelVariants.smallPatch {
            let a = Tensor(shape: g.outputShape), b = Tensor(shape: g.outputShape)
            forward(&shape, t.input.data, t.weights.data, t.bias.data, 0, 0, 0, a.data, 0, rows)
            forward(&shape, t.input.data, t.weights.data, t.bias.data, 1, -0.25, 0.5, b.data, 0, rows)
            for j in 0..<a.count where b.data[j] != min(max(a.data[j], -0.25), 0.5) {
                XCTFail("\(name): clamp of \(a.data[j]) gave \(b.data[j])"); break
            }
        }
    }

    /// The fused convolution + ReLU + 2x2 max pooling, every vector build (AVX2, w16, AVX-512
    /// where the CPU has it) against the scalar C path (pooled values within rounding, argmax
    /// equal wherever the maximum is not a near tie), split across two workers; its weight
    /// gradient against the Double sums over routed positions.
    func testConvReluMaxPoolEveryBuildMatchesReference() throws {
        for (build, variant) in KernelVariants.smallPatchBuilds {
            try checkConvReluMaxPool(build: build, variant: variant)
        }
        KernelVariants.notRunHere("SmallPatchTests.testConvReluMaxPoolEveryBuildMatchesReference")
    }

    func checkConvReluMaxPool(build: String, variant: Int32) throws {
        for (i, g) in [
            try ConvGeometry(n: 3, h: 12, w: 10, c: 1, k: 32, r: 3),
            try ConvGeometry(n: 2, h: 16, w: 16, c: 3, k: 24, r: 5),
            try ConvGeometry(n: 2, h: 13, w: 13, c: 2, k: 8, r: 2, stride: 2, padding: .valid),
            try ConvGeometry(n: 1, h: 28, w: 28, c: 1, k: 40, r: 3),
        ].enumerated() {
            XCTAssertTrue(ConvReluMaxPool.supports(g, options: ConvOptions()), "\(g)")
            let t = ConvTester(g, seed: 50 + UInt64(i))
            let f = ConvReluMaxPool(geometry: g)
            let pooled = g.n * g.p / 2 * g.q / 2 * g.k
            let a = try Tensor([pooled]), b = try Tensor([pooled])
            var amA = [UInt8](repeating: 7, count: pooled), amB = amA
            f.forward(
                input: t.input.data, batch: g.n, weights: t.weights.data, bias: t.bias.data,
                clampHigh: .greatestFiniteMagnitude,
                pooled: a.data, argmax: &amA, runner: TwoThreadRunner(), variant: variant)
            f.forward(
                input: t.input.data, batch: g.n, weights: t.weights.data, bias: t.bias.data,
                clampHigh: .greatestFiniteMagnitude,
                pooled: b.data, argmax: &amB, runner: SerialRunner(), variant: CNNS_SP_SCALAR)
            for j in 0..<pooled {
                XCTAssertEqual(
                    a.data[j], b.data[j], accuracy: 1e-5 * max(1, abs(b.data[j])), "\(build) \(g) pooled \(j)")
                XCTAssertTrue(amA[j] == 255 || amA[j] < 4, "\(g) argmax \(j) = \(amA[j])")
                if amA[j] != amB[j] {
                    XCTAssertLessThan(abs(a.data[j]), 1e-5, "\(g): argmax differs at \(j) away from a tie at 0")
                }
            }
            // dW and db from the routed gradient, against Double sums.
            var rng = SeededGenerator(seed: 60 + UInt64(i))
            let dp = try Tensor([pooled]); dp.fillUniform(&rng)
            let L = g.r * g.s * g.c
            let dw = try Tensor([L, g.k]), db = try Tensor([g.k])
            f.backwardWeights(
                input: t.input.data, batch: g.n, dPooled: dp.data, argmax: amA, dWeights: dw.data, dBias: db.data,
                runner: TwoThreadRunner(), variant: variant)
            var rdw = [Double](repeating: 0, count: L * g.k), adw = rdw, rdb = [Double](repeating: 0, count: g.k)
            let (P2, Q2) = (g.p / 2, g.q / 2)
            for n in 0..<g.n {
                for pp in 0..<P2 {
                    for pq in 0..<Q2 {
                        for k in 0..<g.k {
                            let o = ((n * P2 + pp) * Q2 + pq) * g.k + k
                            guard amA[o] != 255 else { continue }
                            let p = 2 * pp + Int(amA[o]) / 2, q = 2 * pq + Int(amA[o]) % 2
                            let d = Double(dp.data[o])
                            rdb[k] += d
                            Self.addPatch(
                                g, input: t.input.data, n: n, p: p, q: q, channel: k, times: d, to: &rdw, abs: &adw)
                        }
                    }
                }
            }
            let limit = ConvTester.gamma(g.n * g.p * g.q + 2)
            for j in 0..<dw.count where !(abs(Double(dw.data[j]) - rdw[j]) <= limit * adw[j] + 1e-30) {
                XCTFail("\(build) \(g): dW[\(j)] = \(dw.data[j]) vs \(rdw[j])"); break
            }
            for k in 0..<g.k {
                XCTAssertEqual(Double(db.data[k]), rdb[k], accuracy: 1e-4 * max(1, abs(rdb[k])), "\(g) db")
            }
        }
    }
}
