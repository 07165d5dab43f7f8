import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The int8 convolution's byte lowering and its direct kernel (no lowering), each against
/// a plain reference, exactly (bytes and integer sums): random shapes (seed printed, replay with
/// CNNSCOPE_TEST_SEED) and the lab's first layers.
final class Int8DirectConvolutionTests: XCTestCase {
    /// The lab's first layers: basic-cnn and tiny-cnn (28x28x1, 3x3), large-filters (5x5), a
    /// CIFAR-10 model (32x32x3).
    static let labFirstLayers = [
        "N=2,H=28,W=28,C=1,K=32,R=3", "N=2,H=28,W=28,C=1,K=8,R=3", "N=2,H=28,W=28,C=1,K=32,R=5",
        "N=2,H=32,W=32,C=3,K=32,R=3",
    ]

    /// `direct`: kernel rows the direct kernel takes (S·C ≤ 16 bytes, or C a multiple of 4).
    /// Later lab layers the direct kernel takes: tiny-cnn's second (C = 8) and basic-cnn's (C = 32).
    static let labLaterLayers = ["N=2,H=14,W=14,C=8,K=16,R=3", "N=1,H=14,W=14,C=32,K=64,R=3"]

    /// The lab's first and later layers the direct kernel takes, and `extra` shapes.
    static func labShapes(plus extra: [String]) throws -> [ConvGeometry] {
        try (labFirstLayers + labLaterLayers + extra).map { try ConvGeometry.parse($0) }
    }

    static func randomGeometry(_ rng: inout SeededGenerator, direct: Bool) throws -> ConvGeometry {
        let r = 1 + rng.nextInt(5), s = 1 + rng.nextInt(5)
        let c =
            direct
            ? (rng.nextInt(2) == 0 ? 1 + rng.nextInt(max(1, 16 / s)) : 4 * (1 + rng.nextInt(8))) : 1 + rng.nextInt(24)
        return try ConvGeometry(
            n: 1 + rng.nextInt(3), h: r + rng.nextInt(10), w: s + rng.nextInt(10), c: c, k: 1 + rng.nextInt(40), r: r,
            s: s, stride: 1 + rng.nextInt(2), strideW: 1 + rng.nextInt(2), padding: rng.nextInt(2) == 0 ? .same : .valid
        )
    }

    func testByteLoweringMatchesItsReferences() throws {
        let seed = ConvTester.randomSeed("Int8DirectConvolutionTests.testByteLoweringMatchesItsReferences")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labFirstLayers.map { try ConvGeometry.parse($0) }
        shapes.append(try ConvGeometry.parse("N=1,H=14,W=14,C=8,K=16,R=3"))
        for _ in 0..<12 { shapes.append(try Self.randomGeometry(&rng, direct: rng.nextInt(2) == 0)) }
        for g in shapes {
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let L = g.r * g.s * g.c, ld = (L + 3) / 4 * 4 + rng.nextInt(3)
            let rows = g.n * g.p * g.q, m0 = rng.nextInt(max(1, rows / 2)), count = rows - m0
            var fast = [UInt8](repeating: 200, count: count * ld), ref = [UInt8](repeating: 201, count: count * ld)
            var swift = [UInt8](repeating: 0, count: count * ld)
            var shape = g.cShape
            cnns_lower_u8(&shape, x, m0, Int32(count), &fast, Int32(ld), 77)
            cnns_lower_u8_scalar(&shape, x, m0, Int32(count), &ref, Int32(ld), 77)
            XCTAssertEqual(fast, ref, "\(g) ld \(ld) from row \(m0) seed \(seed)")
            // And against im2col's generic lowering (which leaves the tail past L as it was).
            x.withUnsafeBufferPointer { xp in
                swift.withUnsafeMutableBufferPointer {
                    PatchLowering.lower(
                        g, input: xp.baseAddress!, rows: m0..<rows, into: $0.baseAddress!, rowLength: ld, padding: 77)
                }
            }
            XCTAssertEqual(swift, ref, "\(g) against PatchLowering, seed \(seed)")
        }
    }

    /// A random layer for the pooled kernels: 1-3 images, maps up to 10-20 pixels past the kernel,
    /// K a multiple of 8 up to 80, strides 1 or 2 each way, either padding.
    static func randomPooledGeometry(_ rng: inout SeededGenerator, c: Int, r: Int, s: Int, extent: Int = 10) throws
        -> ConvGeometry
    {
        try ConvGeometry(
            n: 1 + rng.nextInt(3), h: r + 1 + rng.nextInt(extent), w: s + 1 + rng.nextInt(2 * extent), c: c,
            k: 8 * (1 + rng.nextInt(10)), r: r, s: s, stride: 1 + rng.nextInt(2), strideW: 1 + rng.nextInt(2),
            padding: rng.nextInt(2) == 0 ? .same : .valid)
    }

    /// The quantised input with its padding written in, as Int8Conv2D lays it out for the direct
    /// kernel: (padTop + H + padBottom) x (padLeft + W + padRight) pixels per image, 3 spare bytes.
    static func padded(_ x: [UInt8], _ g: ConvGeometry, pad: UInt8) -> (bytes: [UInt8], hp: Int, wp: Int) {
        let hp = g.padTop + g.h + g.padBottom, wp = g.padLeft + g.w + g.padRight
        var out = [UInt8](repeating: pad, count: g.n * hp * wp * g.c + 3)
        for n in 0..<g.n {
            for i in 0..<g.h {
                for j in 0..<g.w {
                    for c in 0..<g.c {
                        out[((n * hp + i + g.padTop) * wp + j + g.padLeft) * g.c + c] =
                            x[((n * g.h + i) * g.w + j) * g.c + c]
                    }
                }
            }
        }
        return (out, hp, wp)
    }

    /// Direct sums (every vector build and the scalar reference) equal lowering + the scalar int8
    /// GEMM, exactly.
    func testDirectSumsEqualLoweredGemmExactly() throws {
        KernelVariants.notRunHere("Int8DirectConvolutionTests.testDirectSumsEqualLoweredGemmExactly")
        let seed = ConvTester.randomSeed("Int8DirectConvolutionTests.testDirectSumsEqualLoweredGemmExactly")
        var rng = SeededGenerator(seed: seed)
        var shapes = try (Self.labFirstLayers + Self.labLaterLayers).map { try ConvGeometry.parse($0) }
        for _ in 0..<16 { shapes.append(try Self.randomGeometry(&rng, direct: true)) }
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qconv_direct_fits(&shape), 1, "\(g)")
            let L = g.r * g.s * g.c, L4 = (L + 3) / 4 * 4, K = g.k
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(L * K)).map { _ in Int8(rng.nextInt(255) - 127) }
            let zp = UInt8(rng.nextInt(128))
            let rows = g.n * g.p * g.q
            var lowered = [UInt8](repeating: 0, count: rows * L4)
            cnns_lower_u8_scalar(&shape, x, 0, Int32(rows), &lowered, Int32(L4), zp)
            var gemmPacked = [Int8](repeating: 0, count: Int(cnns_qgemm_packed_size(Int32(K), Int32(L))))
            cnns_qgemm_pack_b(Int32(K), Int32(L), w, Int32(K), &gemmPacked)
            var want = [Int32](repeating: 0, count: rows * K)
            cnns_qgemm_u7s8_scalar(Int32(rows), Int32(K), Int32(L), lowered, Int32(L4), gemmPacked, &want, Int32(K))

            let size = Int(cnns_qconv_direct_packed_size(&shape))
            var packed = [Int8](repeating: 0, count: size), scratch = packed
            cnns_qconv_direct_pack(&shape, w, &packed, &scratch)
            let (xp, hp, wp) = Self.padded(x, g, pad: zp)
            // From a row inside the map, so the stepping from (n, p, q) is exercised.
            let m0 = rng.nextInt(max(1, rows / 3))
            for (name, kernel) in KernelVariants.qconvDirect + [("scalar", cnns_qconv_direct_u7s8_scalar)] {
                var got = [Int32](repeating: -7, count: (rows - m0) * K)
                kernel(&shape, xp, Int32(hp), Int32(wp), m0, Int32(rows - m0), packed, &got, Int32(K))
                XCTAssertEqual(got, Array(want[(m0 * K)...]), "\(name) \(g) from row \(m0) seed \(seed)")
            }
        }
    }

    /// The pooled direct sums (every build and the reference) are the direct sums of the pixels the
    /// 2x2 windows read, in window-row order, from a pooled row inside the batch, odd sizes included.
    func testPooledDirectSumsAreTheWindowsPixels() throws {
        KernelVariants.notRunHere("Int8DirectConvolutionTests.testPooledDirectSumsAreTheWindowsPixels")
        let seed = ConvTester.randomSeed("Int8DirectConvolutionTests.testPooledDirectSumsAreTheWindowsPixels")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labShapes(plus: ["N=2,H=13,W=13,C=32,K=64,R=3,pad=valid"])
        while shapes.count < 20 {
            let g = try Self.randomGeometry(&rng, direct: true)
            if g.p >= 2 && g.q >= 2 { shapes.append(g) }
        }
        for g in shapes {
            var shape = g.cShape
            let K = g.k, P2 = g.p / 2, W2 = 2 * (g.q / 2)
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(g.r * g.s * g.c * K)).map { _ in Int8(rng.nextInt(255) - 127) }
            let (xp, hp, wp) = Self.padded(x, g, pad: UInt8(rng.nextInt(128)))
            var packed = [Int8](repeating: 0, count: Int(cnns_qconv_direct_packed_size(&shape))), scratch = packed
            cnns_qconv_direct_pack(&shape, w, &packed, &scratch)
            let rows = g.n * g.p * g.q
            var all = [Int32](repeating: 0, count: rows * K)
            cnns_qconv_direct_u7s8_scalar(&shape, xp, Int32(hp), Int32(wp), 0, Int32(rows), packed, &all, Int32(K))
            let pooledRows = g.n * P2, pr0 = rng.nextInt(max(1, pooledRows / 2)), count = pooledRows - pr0
            var want: [Int32] = []
            for pr in pr0..<pooledRows {
                for i in 0..<2 {
                    let m0 = ((pr / P2) * g.p + 2 * (pr % P2) + i) * g.q
                    want += all[(m0 * K)..<((m0 + W2) * K)]
                }
            }
            for (name, kernel) in KernelVariants.qconvDirectPooled
                + [("scalar", cnns_qconv_direct_pooled_u7s8_scalar)]
            {
                var got = [Int32](repeating: -7, count: count * 2 * W2 * K)
                kernel(&shape, xp, Int32(hp), Int32(wp), pr0, Int32(count), packed, &got, Int32(K))
                XCTAssertEqual(got, want, "\(name) \(g) from pooled row \(pr0), seed \(seed)")
            }
        }
    }

    /// A direct layer's convolution, pooling and dequantising in one pass (every build and the
    /// reference) give the floats of the pooled direct sums dequantised by the reference, bit for bit,
    /// for every channel-block grouping (K = 8 to 80: the VNNI build's 16-channel vectors four, two and
    /// one at a time with an odd 8 after them, and one, two or four windows at once, across pooled
    /// rows), and write nothing before their first pooled row.
    func testPooledSmallEqualsPooledSumsDequantised() throws {
        KernelVariants.notRunHere("Int8DirectConvolutionTests.testPooledSmallEqualsPooledSumsDequantised")
        let seed = ConvTester.randomSeed("Int8DirectConvolutionTests.testPooledSmallEqualsPooledSumsDequantised")
        var rng = SeededGenerator(seed: seed)
        // The lab's first layers, tiny-cnn's second (8 channels: 18 groups), basic-cnn's (72) and a
        // 5x5 one (200), then random ones.
        var shapes = try Self.labShapes(plus: ["N=1,H=9,W=9,C=32,K=16,R=5"])
        while shapes.count < 20 {
            let r = 1 + rng.nextInt(5)
            let g = try Self.randomPooledGeometry(&rng, c: [1, 2, 3, 4, 8, 12, 32][rng.nextInt(7)], r: r, s: r)
            var shape = g.cShape
            if cnns_qconv_pooled_small_fits(&shape) != 0 { shapes.append(g) }
        }
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qconv_pooled_small_fits(&shape), 1, "\(g)")
            let K = g.k, P2 = g.p / 2, Q2 = g.q / 2, W2 = 2 * Q2
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(g.r * g.s * g.c * K)).map { _ in Int8(rng.nextInt(255) - 127) }
            let mul = (0..<K).map { _ in rng.nextFloat(low: 1e-5, high: 1e-3) }
            let off = (0..<K).map { _ in rng.nextFloat(low: -0.5, high: 0.5) }
            let (xp, hp, wp) = Self.padded(x, g, pad: UInt8(rng.nextInt(128)))
            var packed = [Int8](repeating: 0, count: Int(cnns_qconv_direct_packed_size(&shape))), scratch = packed
            cnns_qconv_direct_pack(&shape, w, &packed, &scratch)
            let pooledRows = g.n * P2
            var sums = [Int32](repeating: 0, count: pooledRows * 2 * W2 * K)
            cnns_qconv_direct_pooled_u7s8_scalar(
                &shape, xp, Int32(hp), Int32(wp), 0, Int32(pooledRows), packed, &sums, Int32(K))
            var want = [Float](repeating: 0, count: pooledRows * Q2 * K)
            for pr in 0..<pooledRows {
                sums.withUnsafeBufferPointer { sb in
                    want.withUnsafeMutableBufferPointer { wb in
                        cnns_dequantize_pooled2x2_scalar(
                            sb.baseAddress! + pr * 2 * W2 * K, Int32(W2), Int32(K), mul, off, 0, 30,
                            wb.baseAddress! + pr * Q2 * K)
                    }
                }
            }
            let pr0 = rng.nextInt(max(1, pooledRows / 2))
            var builds: [(String, PooledSmall)] = [
                ("avx2-or-plain", cnns_qconv_pooled_small), ("scalar", cnns_qconv_pooled_small_scalar),
            ]
            if Blas.haveAVX512VNNI { builds.append(("avx512-vnni", cnns_qconv_pooled_small_avx512vnni)) }
            for (name, kernel) in builds {
                var got = [Float](repeating: .nan, count: pooledRows * Q2 * K)
                kernel(&shape, xp, Int32(hp), Int32(wp), pr0, Int32(pooledRows - pr0), packed, mul, off, 0, 30, &got)
                XCTAssertEqual(
                    got[(pr0 * Q2 * K)...].map(\.bitPattern), want[(pr0 * Q2 * K)...].map(\.bitPattern),
                    "\(name) \(g) from pooled row \(pr0), seed \(seed)")
                XCTAssert(
                    got[..<(pr0 * Q2 * K)].allSatisfy(\.isNaN), "\(name) \(g) wrote before row \(pr0), seed \(seed)")
            }
        }
    }

    typealias PooledSmall = Int8Conv2D.PooledSmallKernel

    /// Which layers Int8Conv2D runs without lowering (the quantisation bound tests in Int8Tests run
    /// these same shapes through both paths).
    func testInt8ConvolutionRunsDirectlyWhereTheKernelFits() throws {
        let q = ActivationQuantization(min: -1, max: 1)
        for (text, expected) in [
            ("N=1,H=28,W=28,C=1,K=8,R=3", true), ("N=1,H=28,W=28,C=1,K=32,R=5", true),
            ("N=1,H=32,W=32,C=3,K=32,R=3", true), ("N=1,H=14,W=14,C=8,K=16,R=3", true),
            ("N=1,H=9,W=9,C=5,K=8,R=5", false), ("N=1,H=7,W=7,C=64,K=8,R=1", false),
        ] {
            let g = try ConvGeometry.parse(text)
            let w = [Float](repeating: 0.25, count: g.r * g.s * g.c * g.k)
            for isa in ["scalar", "avx2", "avx512"] {
                let conv = Int8Conv2D(geometry: g, weights: w, bias: nil, input: q, isa: isa)
                XCTAssertEqual(conv.direct, expected, "\(text) under \(isa)")
                let lowered = Int8Conv2D(geometry: g, weights: w, bias: nil, input: q, isa: isa, path: .lowered)
                XCTAssertFalse(lowered.direct, "\(text) under \(isa), asked to lower")
            }
        }
    }

    /// Pooling the int32 sums of two output rows, then dequantising, equals the reference exactly.
    func testPooledDequantizeMatchesItsReference() {
        let seed = ConvTester.randomSeed("Int8DirectConvolutionTests.testPooledDequantizeMatchesItsReference")
        var rng = SeededGenerator(seed: seed)
        for (q, K) in [(2, 1), (3, 8), (5, 13), (28, 32), (7, 64), (14, 20)] {
            let acc = (0..<(2 * q * K)).map { _ in Int32(rng.nextInt(200_001) - 100_000) }
            let mul = (0..<K).map { _ in rng.nextFloat(low: 1e-6, high: 1e-3) },
                off = (0..<K).map { _ in rng.nextFloat(low: -0.5, high: 0.5) }
            var fast = [Float](repeating: .nan, count: q / 2 * K), ref = fast
            cnns_dequantize_pooled2x2(acc, Int32(q), Int32(K), mul, off, 0, 40, &fast)
            cnns_dequantize_pooled2x2_scalar(acc, Int32(q), Int32(K), mul, off, 0, 40, &ref)
            XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern), "q \(q) K \(K) seed \(seed)")
            // The reference is the maximum of the window's four dequantised sums (dequantising increases).
            for j in 0..<(q / 2) {
                for k in 0..<K {
                    let sums = [2 * j, 2 * j + 1, q + 2 * j, q + 2 * j + 1].map { acc[$0 * K + k] }
                    let y = min(max(Float(sums.max()!) * mul[k] + off[k], 0), 40)
                    XCTAssertEqual(ref[j * K + k], y, "q \(q) K \(K) window \(j) channel \(k)")
                }
            }
        }
    }
}
