import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The int8 convolution's integer Winograd F(2x4,5x5) kernel: every vector build equals its scalar
/// reference exactly, and the reference's sums lie within `cnns_qwino5_error_bound` of the direct
/// convolution's (its transformed weights are rounded to 16 bits): random shapes (seed printed,
/// replay with CNNSCOPE_TEST_SEED), the lab's 5x5 layers, and extreme values.
final class Int8Winograd5Tests: XCTestCase {
    /// large-filters' and mixed-filters' second convolution on MNIST (14x14x32 -> 64, same) and on
    /// CIFAR-10 (16x16x32 -> 64), large-filters' first (28x28x1 -> 32), and odd channel counts.
    static let labLayers = [
        "N=2,H=14,W=14,C=32,K=64,R=5", "N=1,H=16,W=16,C=32,K=64,R=5", "N=1,H=28,W=28,C=1,K=32,R=5",
        "N=1,H=9,W=11,C=19,K=21,R=5,pad=valid",
    ]

    static func randomGeometry(_ rng: inout SeededGenerator) throws -> ConvGeometry {
        try ConvGeometry(
            n: 1 + rng.nextInt(2), h: 5 + rng.nextInt(9), w: 5 + rng.nextInt(9), c: 1 + rng.nextInt(40),
            k: 1 + rng.nextInt(40), r: 5, padding: rng.nextInt(2) == 0 ? .same : .valid)
    }

    /// The direct sums of every output pixel from the padded input, in Int64 (the reference).
    static func directSums(_ g: ConvGeometry, _ xp: [UInt8], hp: Int, wp: Int, _ w: [Int8]) -> [Int64] {
        var sums = [Int64](repeating: 0, count: g.n * g.p * g.q * g.k)
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    let out = ((n * g.p + p) * g.q + q) * g.k
                    for r in 0..<5 {
                        for s in 0..<5 {
                            let pixel = ((n * hp + p + r) * wp + q + s) * g.c, tap = (r * 5 + s) * g.c
                            for c in 0..<g.c {
                                let x = Int64(xp[pixel + c]), row = (tap + c) * g.k
                                guard x != 0 else { continue }
                                for k in 0..<g.k { sums[out + k] += x * Int64(w[row + k]) }
                            }
                        }
                    }
                }
            }
        }
        return sums
    }

    typealias QWino5 = Int8Conv2D.Winograd5Kernel

    /// Every tile's four sums (and, pooled, their maximum), in chunks of random length from a random
    /// first tile: each vector build equals the scalar reference, which lies within the bound of the
    /// direct sums. Returns the largest error seen, in units of its column's bound.
    @discardableResult
    func check(
        _ g: ConvGeometry, x: [UInt8], w: [Int8], pad: UInt8, rng: inout SeededGenerator, seed: UInt64
    ) -> Double {
        let (xp, hp, wp) = Int8DirectConvolutionTests.padded(x, g, pad: pad)
        let want = Self.directSums(g, xp, hp: hp, wp: wp, w)
        let K = g.k
        var packed = [Int16](repeating: 0, count: Int(cnns_qwino5_packed_size(Int32(g.c), Int32(K))) / 2)
        var scale = [Float](repeating: 0, count: Int(CNNS_QWINO5_POINTS) * K)
        cnns_qwino5_pack(Int32(g.c), Int32(K), w, &packed, &scale)
        let bound = (0..<K).map { cnns_qwino5_error_bound(Int32(g.c), Int32(K), scale, Int32($0)) }
        var builds: [(String, QWino5)] = [("avx2-or-plain", cnns_qwino5_u7s8)]
        if Blas.haveAVX512VNNI { builds.append(("avx512-vnni", cnns_qwino5_u7s8_avx512vnni)) }
        var worst = 0.0
        for pooled in [false, true] {
            var (ty, tx, tiles, shape) = Int8WinogradTesting.tileGrid(g, hp: hp, wp: wp, pad: pad, pooled: pooled)
            guard tiles > 0 else { continue }
            let t0 = rng.nextInt(max(1, tiles / 3)), T = 1 + rng.nextInt(20)
            var work = [UInt8](repeating: 0, count: Int(cnns_qwino5_workspace_size(Int32(g.c), Int32(K), Int32(T))))
            let per = pooled ? K : 4 * K
            func run(_ kernel: QWino5) -> [Int32] {
                Int8WinogradTesting.chunked(tiles: tiles, from: t0, by: T, per: per) {
                    kernel(&shape, xp, $0, $1, pooled ? 1 : 0, packed, scale, &work, $2)
                }
            }
            let reference = run(cnns_qwino5_u7s8_scalar)
            let label = "\(pooled ? "pooled " : "")\(g) tiles from \(t0) by \(T), seed \(seed)"
            for (name, kernel) in builds {
                let got = run(kernel)
                let mismatches = zip(got, reference).filter { $0 != $1 }.count
                XCTAssertEqual(mismatches, 0, "\(name) against the scalar reference, \(label)")
            }
            let e = Int8WinogradTesting.errors(
                reference, want: want, tiles: tiles, from: t0, ty: ty, tx: tx, g, pooled: pooled, bound: bound)
            worst = max(worst, e.worst)
            XCTAssertEqual(e.outside, 0, "sums outside cnns_qwino5_error_bound of the direct sums, \(label)")
        }
        return worst
    }

    func testWinograd5BuildsEqualReferenceWithinBoundOfDirect() throws {
        KernelVariants.notRunHere("Int8Winograd5Tests.testWinograd5BuildsEqualReferenceWithinBoundOfDirect")
        let seed = ConvTester.randomSeed("Int8Winograd5Tests.testWinograd5BuildsEqualReferenceWithinBoundOfDirect")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labLayers.map { try ConvGeometry.parse($0) }
        for _ in 0..<10 { shapes.append(try Self.randomGeometry(&rng)) }
        var worst = 0.0
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qwino5_fits(&shape), 1, "\(g)")
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(25 * g.c * g.k)).map { _ in Int8(rng.nextInt(255) - 127) }
            worst = max(worst, check(g, x: x, w: w, pad: UInt8(rng.nextInt(128)), rng: &rng, seed: seed))
        }
        print("Int8Winograd5Tests: largest error \(worst) of the bound on random data")
        // The bound is a worst case; on random data the error is a small part of it. A bound that had
        // grown loose enough to pass anything would show here.
        XCTAssertGreaterThan(worst, 0, "F(2x4,5x5) rounds its weights: some sum should differ, seed \(seed)")
    }

    /// The largest transforms at the most channels the kernel takes, where the int32 sums of the
    /// transform domain come closest to wrapping: a 6x8 image (one 2x4 tile, `valid`) of 127 where
    /// point (a, b)'s coefficient in B₂ᵀ ⊗ B₄ᵀ is positive and 0 where it is negative, so |V| there
    /// comes within 64·Σ⁺ of 64·Σ|coefficients| (up to 32000); weights of ±127, alike on every
    /// channel, so the point's sums reach Cp·|V| times its int16 step. Also a checkerboard of 0 and
    /// 127 at 64 channels.
    func testExtremeValuesStayWithinBound() throws {
        let bt2 = [
            [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
        ]
        let bt4 = [
            [-4, 0, 21, 0, -21, 0, 4, 0], [0, 4, 4, -17, -17, 4, 4, 0], [0, -4, 4, 17, -17, -4, 4, 0],
            [0, 2, 1, -10, -5, 8, 4, 0], [0, -2, 1, 10, -5, -8, 4, 0], [0, 4, 8, -5, -10, 1, 2, 0],
            [0, -4, 8, 5, -10, -1, 2, 0], [0, -4, 0, 21, 0, -21, 0, 4],
        ]
        var rng = SeededGenerator(seed: 1)
        var cases: [(ConvGeometry, [UInt8])] = []
        let checker = try ConvGeometry.parse("N=1,H=8,W=8,C=64,K=16,R=5")
        cases.append((checker, Int8WinogradTesting.checkerboard(checker)))
        let tile = try ConvGeometry.parse("N=1,H=6,W=8,C=\(CNNS_QWINO5_MAX_C),K=8,R=5,pad=valid")
        for (a, b) in [(1, 1), (0, 0), (5, 7), (3, 4)] {
            let x = (0..<(6 * 8 * tile.c)).map { i -> UInt8 in
                let pixel = i / tile.c, coefficient = bt2[a][pixel / 8] * bt4[b][pixel % 8]
                return coefficient > 0 ? 127 : coefficient < 0 ? 0 : 64
            }
            cases.append((tile, x))
        }
        for (g, x) in cases {
            for sign in [Int8(127), Int8(-127)] {
                let w = (0..<(25 * g.c * g.k)).map { i -> Int8 in
                    let tap = i / (g.c * g.k)
                    return (tap / 5 + tap % 5) % 2 == 0 ? sign : -sign
                }
                check(g, x: x, w: w, pad: 127, rng: &rng, seed: 1)
            }
        }
    }

    /// The Winograd path of Int8Conv2D gives the direct path's floats to within the sums' bound times
    /// the channel's dequantisation multiplier, with and without the fused 2x2 max pooling, under
    /// every ISA cap.
    func testInt8ConvolutionWinograd5PathNearDirectPath() throws {
        let seed = ConvTester.randomSeed("Int8Winograd5Tests.testInt8ConvolutionWinograd5PathNearDirectPath")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labLayers.map { try ConvGeometry.parse($0) }
        for _ in 0..<3 { shapes.append(try Self.randomGeometry(&rng)) }
        for g in shapes {
            let layer = Int8WinogradTesting.RandomLayer(g, &rng)
            Int8WinogradTesting.compareWinograd(g, layer, against: .lowered) { isa, pooled, wino, got, want in
                let tolerance = (0..<g.k).map { k in
                    cnns_qwino5_error_bound(Int32(g.c), Int32(g.k), wino.winogradScales, Int32(k))
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
}
