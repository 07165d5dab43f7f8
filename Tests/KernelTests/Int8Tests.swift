import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The int8 GEMM against its scalar reference (exact: integer sums), and the int8 convolution
/// against the Double reference within the quantisation bound per output:
/// |y − y_ref| ≤ (sx/2)·Σ|w| + (sw_k/2)·Σ|x̂| + L·sx·sw_k/4 (+ float rounding of the epilogue).
final class Int8Tests: XCTestCase {
    func testQGemmMatchesScalarReferenceExactly() {
        KernelVariants.notRunHere("Int8Tests")
        let seed = ConvTester.randomSeed("Int8Tests.testQGemmMatchesScalarReferenceExactly")
        var rng = SeededGenerator(seed: seed)
        var shapes = [
            (1, 1, 1), (4, 16, 4), (5, 17, 9), (13, 40, 27), (64, 64, 288), (7, 10, 800), (3, 130, 33), (12, 32, 8),
            (25, 24, 12), (2, 8, 3), (300, 20, 1100),  // more rows than one pass, more groups than the stack table
        ]
        for _ in 0..<8 { shapes.append((1 + rng.nextInt(40), 1 + rng.nextInt(90), 1 + rng.nextInt(120))) }
        for (m, n, k) in shapes {
            let k4 = (k + 3) / 4 * 4
            var a = [UInt8](repeating: 0, count: m * k4)
            for i in 0..<m { for j in 0..<k { a[i * k4 + j] = UInt8(rng.nextInt(128)) } }
            let b = (0..<(k * n)).map { _ in Int8(rng.nextInt(255) - 127) }
            var packed = [Int8](repeating: 0, count: Int(cnns_qgemm_packed_size(Int32(n), Int32(k))))
            cnns_qgemm_pack_b(Int32(n), Int32(k), b, Int32(n), &packed)
            var ref = [Int32](repeating: -2, count: m * n)
            cnns_qgemm_u7s8_scalar(Int32(m), Int32(n), Int32(k), a, Int32(k4), packed, &ref, Int32(n))
            for (name, kernel) in KernelVariants.qgemm {
                var fast = [Int32](repeating: -1, count: m * n)
                kernel(Int32(m), Int32(n), Int32(k), a, Int32(k4), packed, &fast, Int32(n))
                XCTAssertEqual(fast, ref, "\(name): m \(m) n \(n) k \(k) seed \(seed)")
            }
            // And the reference against the plain definition.
            for i in 0..<m {
                for j in 0..<n {
                    var s: Int32 = 0
                    for t in 0..<k { s += Int32(a[i * k4 + t]) * Int32(b[t * n + j]) }
                    XCTAssertEqual(ref[i * n + j], s)
                }
            }
        }
    }

    /// The AVX2 quantise and dequantise passes give the references' bytes and floats exactly
    /// (same rounding order), on lengths that leave every tail and values at the clamp edges.
    func testQuantizeAndDequantizeMatchTheirReferencesExactly() {
        let seed = ConvTester.randomSeed("Int8Tests.testQuantizeAndDequantizeMatchTheirReferencesExactly")
        var rng = SeededGenerator(seed: seed)
        for n in [1, 7, 31, 32, 33, 100, 1000] {
            // Halves exactly on the rounding boundary (k + 0.5) included, and values past both ends.
            let x = (0..<n).map { i in
                i % 5 == 0 ? Float(rng.nextInt(300) - 150) * 0.5 : rng.nextFloat(low: -60, high: 140)
            }
            var fast = [UInt8](repeating: 255, count: n), ref = [UInt8](repeating: 254, count: n)
            cnns_quantize_u7(x, n, 1.25, 17, &fast)
            cnns_quantize_u7_scalar(x, n, 1.25, 17, &ref)
            XCTAssertEqual(fast, ref, "quantize n \(n) seed \(seed)")
            for (v, q) in zip(x, ref) {
                XCTAssertEqual(Float(q), min(max((v * 1.25).rounded(.toNearestOrEven) + 17, 0), 127))
            }
        }
        for (rows, K) in [(1, 1), (3, 8), (5, 13), (2, 64)] {
            let acc = (0..<(rows * K)).map { _ in Int32(rng.nextInt(200_001) - 100_000) }
            let mul = (0..<K).map { _ in rng.nextFloat(low: 0, high: 1e-3) },
                off = (0..<K).map { _ in rng.nextFloat(low: -0.5, high: 0.5) }
            var fast = [Float](repeating: .nan, count: rows * (K + 2)), ref = fast
            cnns_dequantize_rows(acc, Int32(rows), Int32(K), mul, off, -20, 30, &fast, K + 2)
            cnns_dequantize_rows_scalar(acc, Int32(rows), Int32(K), mul, off, -20, 30, &ref, K + 2)
            for i in 0..<(rows * (K + 2)) where i % (K + 2) < K {
                XCTAssertEqual(fast[i], ref[i], "dequantize rows \(rows) K \(K) at \(i) seed \(seed)")
            }
        }
    }

    func check(_ g: ConvGeometry, seed: UInt64, negativeInputs: Bool, runner: ParallelRunner = SerialRunner()) throws {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), b = try Tensor([g.k])
        x.fillUniform(&rng, low: negativeInputs ? -1 : 0, high: 1)
        w.fillUniform(&rng, low: -0.5, high: 0.5); b.fillUniform(&rng, low: -0.1, high: 0.1)
        var lo: Float = .infinity, hi: Float = -.infinity
        for i in 0..<x.count { lo = min(lo, x.data[i]); hi = max(hi, x.data[i]) }
        let q = ActivationQuantization(min: lo, max: hi)
        let paths: [Int8Conv2D.Path] = Int8Conv2D.directFits(g) ? [.direct, .lowered] : [.direct]
        for isa in ConvOptions.availableISAs {
            for path in paths {
                let conv = Int8Conv2D(geometry: g, weights: w.data, bias: b.data, input: q, isa: isa, path: path)
                try check(conv, x: x, w: w, b: b, q: q, lo: lo, hi: hi, seed: seed, runner: runner)
            }
        }
    }

    func check(
        _ conv: Int8Conv2D, x: Tensor, w: Tensor, b: Tensor, q: ActivationQuantization, lo: Float, hi: Float,
        seed: UInt64, runner: ParallelRunner
    ) throws {
        let g = conv.geometry
        let y = Tensor(shape: g.outputShape)
        y.fill(.nan)
        conv.forward(input: x.data, batch: g.n, output: y.data, runner: runner)
        let ref = ReferenceConv2D.forward(g, input: x.data, weights: w.data, bias: b.data)
        let L = g.r * g.s * g.c
        var sumW = [Double](repeating: 0, count: g.k)
        for i in 0..<L { for k in 0..<g.k { sumW[k] += Double(abs(w.data[i * g.k + k])) } }
        for (i, v) in y.array.enumerated() {
            let k = i % g.k
            let sx = Double(q.scale), sw = Double(conv.weightScales[k])
            // Σ|x̂| ≤ Σ|products| / min|w| is loose; bound Σ|x̂| by L·max|x|.
            let xmax = Double(max(abs(lo), abs(hi)))
            let bound =
                sx / 2 * sumW[k] + sw / 2 * Double(L) * (xmax + sx) + Double(L) * sx * sw / 4 + 1e-5
                * (ref.absSum[i] + 1)
            XCTAssertLessThanOrEqual(
                abs(Double(v) - ref.output[i]), bound, "\(g) \(conv.kernelName) output \(i) seed \(seed)")
            if !(abs(Double(v) - ref.output[i]) <= bound) { return }
        }
    }

    /// The convolution with 2x2 max pooling in the same pass equals pooling the unfused output,
    /// bit for bit, under every ISA, with and without a clamp: odd and even maps, both paddings,
    /// strides 1 and 2, 1x1 layers (no lowering), one and two workers (seed printed).
    func testPooledConvolutionEqualsPoolingTheOutputExactly() throws {
        let seed = ConvTester.randomSeed("Int8Tests.testPooledConvolutionEqualsPoolingTheOutputExactly")
        var rng = SeededGenerator(seed: seed)
        for t in 0..<10 {
            let r = t % 5 == 0 ? 1 : [3, 5][rng.nextInt(2)], stride = t % 5 == 0 ? 1 : 1 + rng.nextInt(2)
            let c = 1 + rng.nextInt(20), k = 1 + rng.nextInt(40)
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(3), h: r + 2 + rng.nextInt(12), w: r + 2 + rng.nextInt(12), c: c, k: k, r: r,
                stride: stride, padding: rng.nextInt(2) == 0 ? .same : .valid)
            guard g.p >= 2, g.q >= 2 else { continue }
            let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), b = try Tensor([g.k])
            x.fillUniform(&rng, low: -1, high: 1); w.fillUniform(&rng, low: -0.5, high: 0.5)
            b.fillUniform(&rng, low: -0.2, high: 0.2)
            let q = ActivationQuantization(min: -1, max: 1)
            let (P2, Q2) = (g.p / 2, g.q / 2)
            for isa in ConvOptions.availableISAs {
                let conv = Int8Conv2D(geometry: g, weights: w.data, bias: b.data, input: q, isa: isa)
                for clamp in [nil, 0...Float.greatestFiniteMagnitude] as [ClosedRange<Float>?] {
                    for runner in [SerialRunner(), TwoThreadRunner()] as [ParallelRunner] {
                        let full = Tensor(shape: g.outputShape), pooled = try Tensor([g.n, P2, Q2, g.k])
                        pooled.fill(.nan)
                        conv.forward(input: x.data, batch: g.n, output: full.data, runner: runner, clamp: clamp)
                        conv.forwardPooled2x2(
                            input: x.data, batch: g.n, output: pooled.data, runner: runner, clamp: clamp)
                        let want = Self.maxPooled2x2(full, g)
                        if let i = want.indices.first(where: { pooled.data[$0].bitPattern != want[$0].bitPattern }) {
                            XCTFail(
                                "\(g) isa \(isa) clamp \(clamp != nil) seed \(seed): \(pooled.data[i]) vs \(want[i])")
                            return
                        }
                    }
                }
            }
        }
    }

    /// 2x2 max pooling of an NHWC output (N, P, Q, K): (N, P/2, Q/2, K), a last odd row and column
    /// dropped.
    static func maxPooled2x2(_ full: Tensor, _ g: ConvGeometry) -> [Float] {
        let (P2, Q2) = (g.p / 2, g.q / 2)
        var out = [Float](repeating: 0, count: g.n * P2 * Q2 * g.k)
        for n in 0..<g.n {
            for p in 0..<P2 {
                for q in 0..<Q2 {
                    for o in 0..<g.k {
                        let at = { (i: Int, j: Int) in full.data[((n * g.p + 2 * p + i) * g.q + 2 * q + j) * g.k + o] }
                        out[((n * P2 + p) * Q2 + q) * g.k + o] = max(max(at(0, 0), at(0, 1)), max(at(1, 0), at(1, 1)))
                    }
                }
            }
        }
        return out
    }

    func testInt8ConvolutionWithinTheQuantisationBound() throws {
        let seed = ConvTester.randomSeed("Int8Tests.testInt8ConvolutionWithinTheQuantisationBound")
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<6 {
            let r = [1, 3, 5][rng.nextInt(3)]
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(2), h: r + rng.nextInt(8), w: r + rng.nextInt(8), c: 1 + rng.nextInt(12),
                k: 1 + rng.nextInt(20), r: r, stride: 1 + rng.nextInt(2), padding: rng.nextInt(2) == 0 ? .same : .valid)
            try check(g, seed: seed, negativeInputs: rng.nextInt(2) == 0)
        }
        // The lab's layers (basic-cnn), on two workers; a dense layer as a 1x1 convolution.
        // First layers of tiny-cnn, large-filters and a CIFAR-10 model (the direct kernel).
        for text in [
            "N=2,H=28,W=28,C=1,K=32,R=3", "N=2,H=14,W=14,C=32,K=64,R=3", "N=4,H=1,W=1,C=3136,K=128,R=1",
            "N=2,H=28,W=28,C=1,K=8,R=3", "N=1,H=28,W=28,C=1,K=32,R=5", "N=1,H=32,W=32,C=3,K=32,R=3",
        ] {
            try check(try ConvGeometry.parse(text), seed: 5, negativeInputs: false, runner: TwoThreadRunner())
        }
    }
}
