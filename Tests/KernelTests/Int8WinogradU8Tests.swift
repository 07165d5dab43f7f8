import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The int8 convolution's Winograd F(2x2,3x3) kernel with an 8-bit transform domain: the VNNI build
/// equals its scalar reference exactly, and the reference's sums lie within
/// `cnns_qwino8_error_bound` of the direct convolution's (both transforms are rounded to bytes):
/// random shapes (seed printed, replay with CNNSCOPE_TEST_SEED), the lab's 3x3 and 5x5 layers (a
/// 5x5 kernel runs as four 3x3 sub-kernels), and extreme values at the most channels it takes.
final class Int8WinogradU8Tests: XCTestCase {
    typealias QWino8 = Int8Conv2D.WinogradU8Kernel

    /// The direct sums of every output pixel from the padded input, in Int64 (the reference), any r.
    static func directSums(_ g: ConvGeometry, _ xp: [UInt8], hp: Int, wp: Int, _ w: [Int8]) -> [Int64] {
        var sums = [Int64](repeating: 0, count: g.n * g.p * g.q * g.k)
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    let out = ((n * g.p + p) * g.q + q) * g.k
                    for r in 0..<g.r {
                        for s in 0..<g.s {
                            let pixel = ((n * hp + p + r) * wp + q + s) * g.c, tap = (r * g.s + s) * g.c
                            for c in 0..<g.c {
                                let x = Int64(xp[pixel + c]), row = (tap + c) * g.k
                                for k in 0..<g.k { sums[out + k] += x * Int64(w[row + k]) }
                            }
                        }
                    }
                }
            }
        }
        return sums
    }

    /// Every tile's four sums (and, pooled, their maximum), in chunks of random length from a random
    /// first tile: the VNNI build (where this CPU has it) equals the scalar reference, which lies
    /// within the bound of the direct sums. Returns the largest error seen, in units of its
    /// column's bound, and the RMS error over the RMS sum.
    @discardableResult
    func check(
        _ g: ConvGeometry, x: [UInt8], w: [Int8], pad: UInt8, rng: inout SeededGenerator, seed: UInt64
    ) -> (worst: Double, relative: Double) {
        let (xp, hp, wp) = Int8DirectConvolutionTests.padded(x, g, pad: pad)
        let want = Self.directSums(g, xp, hp: hp, wp: wp, w)
        let K = g.k, Kp = (K + 15) / 16 * 16, R = Int32(g.r)
        var packed = [Int8](repeating: 0, count: Int(cnns_qwino8_packed_size(Int32(g.c), Int32(K), R)))
        var comp = [Int32](repeating: 0, count: 4 * Kp)
        var scale = [Float](repeating: 0, count: K)
        cnns_qwino8_pack(Int32(g.c), Int32(K), R, w, &packed, &comp, &scale)
        let bound = (0..<K).map { cnns_qwino8_error_bound(Int32(g.c), Int32(K), R, w, Int32($0)) }
        var worst = 0.0, squaredError = 0.0, squaredSum = 0.0
        for pooled in [false, true] {
            var (ty, tx, tiles, shape) = Int8WinogradTesting.tileGrid(g, hp: hp, wp: wp, pad: pad, pooled: pooled)
            guard tiles > 0 else { continue }
            let t0 = rng.nextInt(max(1, tiles / 3)), T = 1 + rng.nextInt(20)
            var work = [UInt8](repeating: 0, count: Int(cnns_qwino8_workspace_size(&shape, R, Int32(T))))
            let per = pooled ? K : 4 * K
            func run(_ kernel: QWino8) -> [Int32] {
                Int8WinogradTesting.chunked(tiles: tiles, from: t0, by: T, per: per) {
                    kernel(&shape, R, xp, $0, $1, pooled ? 1 : 0, packed, comp, scale, &work, $2)
                }
            }
            let reference = run(cnns_qwino8_u7s8_scalar)
            let label = "\(pooled ? "pooled " : "")\(g) tiles from \(t0) by \(T), seed \(seed)"
            if Blas.haveAVX512VNNI {
                let got = run(cnns_qwino8_u7s8_avx512vnni)
                let mismatches = zip(got, reference).filter { $0 != $1 }.count
                XCTAssertEqual(mismatches, 0, "avx512-vnni against the scalar reference, \(label)")
            }
            let e = Int8WinogradTesting.errors(
                reference, want: want, tiles: tiles, from: t0, ty: ty, tx: tx, g, pooled: pooled, bound: bound)
            worst = max(worst, e.worst)
            (squaredError, squaredSum) = (squaredError + e.squaredError, squaredSum + e.squaredSum)
            XCTAssertEqual(e.outside, 0, "sums outside cnns_qwino8_error_bound of the direct sums, \(label)")
        }
        return (worst, squaredSum > 0 ? (squaredError / squaredSum).squareRoot() : 0)
    }

    func testWinogradU8BuildEqualsReferenceWithinBoundOfDirect() throws {
        if !Blas.haveAVX512VNNI {
            print(
                "Int8WinogradU8Tests: this CPU lacks AVX-512 VNNI: the vpdpbusd build did not run here; "
                    + "the scalar reference was checked against the direct sums")
        }
        let seed = ConvTester.randomSeed("Int8WinogradU8Tests.testWinogradU8BuildEqualsReferenceWithinBoundOfDirect")
        var rng = SeededGenerator(seed: seed)
        var shapes = try (Int8WinogradTests.labLayers + Int8Winograd5Tests.labLayers).map { try ConvGeometry.parse($0) }
        for _ in 0..<10 { shapes.append(try Int8WinogradTests.randomGeometry(&rng)) }
        for _ in 0..<6 { shapes.append(try Int8Winograd5Tests.randomGeometry(&rng)) }
        var worst = 0.0, relative = 0.0
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qwino8_fits(&shape), 1, "\(g)")
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(g.r * g.s * g.c * g.k)).map { _ in Int8(rng.nextInt(255) - 127) }
            let r = check(g, x: x, w: w, pad: UInt8(rng.nextInt(128)), rng: &rng, seed: seed)
            (worst, relative) = (max(worst, r.worst), max(relative, r.relative))
        }
        print("Int8WinogradU8Tests: largest error \(worst) of the bound, RMS error \(relative) of the RMS sum")
        // Both transforms are rounded: some sums differ, and on random data by a few percent at most.
        XCTAssertGreaterThan(worst, 0, "the 8-bit domain rounds: some sum should differ, seed \(seed)")
        XCTAssertLessThan(relative, 0.03, "RMS error of the sums, seed \(seed)")
    }

    /// The largest transforms (|V| = 2·127 and 4·127 from a checkerboard of 0 and 127; weights of ±127
    /// in the pattern that makes U largest) at the most channels the kernel takes, where the int32
    /// sums of the transform domain come closest to wrapping.
    func testExtremeValuesStayWithinBound() throws {
        var rng = SeededGenerator(seed: 1)
        for text in [
            "N=1,H=8,W=8,C=64,K=16,R=3", "N=1,H=6,W=6,C=\(CNNS_QWINO8_MAX_C),K=8,R=3,pad=valid",
            "N=1,H=8,W=8,C=32,K=16,R=5", "N=1,H=8,W=8,C=\(CNNS_QWINO8_MAX_C / 4),K=8,R=5,pad=valid",
        ] {
            let g = try ConvGeometry.parse(text)
            let x = Int8WinogradTesting.checkerboard(g)
            for sign in [Int8(127), Int8(-127)] {
                let w = (0..<(g.r * g.s * g.c * g.k)).map { i -> Int8 in
                    let tap = i / (g.c * g.k)
                    return (tap / g.s + tap % g.s) % 2 == 0 ? sign : -sign
                }
                for pad: UInt8 in [0, 127] { check(g, x: x, w: w, pad: pad, rng: &rng, seed: 1) }
            }
        }
    }

    /// The 8-bit domain's path of Int8Conv2D gives the direct path's floats to within the sums'
    /// bound times the channel's dequantisation multiplier, with and without the fused 2x2 max
    /// pooling, under the scalar cap (its reference) and the AVX-512 cap (VNNI, where present); under
    /// AVX2 it runs the exact 16-bit kernel.
    func testInt8ConvolutionWinogradU8PathNearDirectPath() throws {
        let seed = ConvTester.randomSeed("Int8WinogradU8Tests.testInt8ConvolutionWinogradU8PathNearDirectPath")
        var rng = SeededGenerator(seed: seed)
        var shapes = try (Int8WinogradTests.labLayers + Int8Winograd5Tests.labLayers).map { try ConvGeometry.parse($0) }
        for _ in 0..<2 { shapes.append(try Int8WinogradTests.randomGeometry(&rng)) }
        for _ in 0..<2 { shapes.append(try Int8Winograd5Tests.randomGeometry(&rng)) }
        for g in shapes {
            let layer = Int8WinogradTesting.RandomLayer(g, &rng)
            let weights = Self.quantizedWeights(layer.w, g)
            Int8WinogradTesting.compareWinograd(g, layer, against: .direct, path: .winogradU8) {
                isa, pooled, wino, got, want in
                let tolerance = (0..<g.k).map { k in
                    (wino.winogradU8
                        ? cnns_qwino8_error_bound(Int32(g.c), Int32(g.k), Int32(g.r), weights, Int32(k))
                        : g.r == 5 ? cnns_qwino5_error_bound(Int32(g.c), Int32(g.k), wino.winogradScales, Int32(k)) : 0)
                        * Double(wino.multiplier[k]) * 1.001
                }
                var outside = 0
                for (i, (a, b)) in zip(got, want).enumerated() {
                    let allowed = tolerance[i % g.k] + 1e-6 * max(1, Double(abs(b)))
                    if !(Double(abs(a - b)) <= allowed) { outside += 1 }
                }
                XCTAssertEqual(outside, 0, "\(pooled ? "pooled " : "")\(g) under \(isa), seed \(seed)")
            }
        }
    }

    /// The layer's int8 weights, as Int8Conv2D quantises them (per output channel, max |w| to 127).
    static func quantizedWeights(_ w: [Float], _ g: ConvGeometry) -> [Int8] {
        let L = g.r * g.s * g.c, K = g.k
        var q = [Int8](repeating: 0, count: L * K)
        for k in 0..<K {
            var m: Float = 0
            for i in 0..<L { m = max(m, abs(w[i * K + k])) }
            let scale = m > 0 ? m / 127 : 1
            for i in 0..<L { q[i * K + k] = Int8(max(-127, min(127, (w[i * K + k] / scale).rounded()))) }
        }
        return q
    }

    /// The 8-bit domain is taken only for 3x3 and 5x5 stride-1 layers on VNNI or under the scalar cap;
    /// under AVX2 a layer asked for it runs the 16-bit kernel (exact F(2x4,3x3), or F(2x4,5x5)).
    func testWinogradU8OnlyWhereItFits() throws {
        let q = ActivationQuantization(min: -1, max: 1)
        for (text, fits) in [
            ("N=1,H=13,W=13,C=32,K=64,R=3,pad=valid", true), ("N=1,H=28,W=28,C=1,K=32,R=3", true),
            ("N=1,H=28,W=28,C=1,K=32,R=5", true), ("N=1,H=14,W=14,C=8,K=16,R=3,stride=2", false),
            ("N=1,H=6,W=6,C=\(CNNS_QWINO8_MAX_C + 1),K=8,R=3", false),
            ("N=1,H=8,W=8,C=\(CNNS_QWINO8_MAX_C / 4 + 1),K=8,R=5", false), ("N=1,H=9,W=9,C=8,K=16,R=7", false),
        ] {
            let g = try ConvGeometry.parse(text)
            XCTAssertEqual(Int8Conv2D.winogradU8Fits(g), fits, text)
            let w = [Float](repeating: 0.25, count: g.r * g.s * g.c * g.k)
            for isa in ["scalar", "avx2"] {
                let conv = Int8Conv2D(geometry: g, weights: w, bias: nil, input: q, isa: isa, path: .winogradU8)
                XCTAssertEqual(conv.winogradU8, fits && isa == "scalar", "\(text) under \(isa)")
                XCTAssertEqual(conv.winograd, Int8Conv2D.winogradFits(g), "\(text) under \(isa)")
            }
        }
    }
}
