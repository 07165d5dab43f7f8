import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The int8 convolution's integer Winograd F(2x4,3x3) kernel against the direct kernel's scalar
/// reference, exactly (int32 sums, and the dequantised floats of the whole layer): random shapes
/// (seed printed, replay with CNNSCOPE_TEST_SEED), the lab's 3x3 layers, and extreme values.
final class Int8WinogradTests: XCTestCase {
    /// basic-cnn's second convolution (13x13x32 -> 64, valid), tiny-cnn's (8 -> 16), a same-padded
    /// 14x14 layer, a CIFAR-10 layer (32 -> 64 at 15x15) and a 7x7 layer of 64 -> 128 channels.
    static let labLayers = [
        "N=2,H=13,W=13,C=32,K=64,R=3,pad=valid", "N=2,H=13,W=13,C=8,K=16,R=3,pad=valid",
        "N=1,H=14,W=14,C=32,K=64,R=3", "N=1,H=15,W=15,C=32,K=64,R=3,pad=valid", "N=1,H=7,W=7,C=64,K=128,R=3",
    ]

    static func randomGeometry(_ rng: inout SeededGenerator) throws -> ConvGeometry {
        try ConvGeometry(
            n: 1 + rng.nextInt(3), h: 3 + rng.nextInt(10), w: 3 + rng.nextInt(10), c: 1 + rng.nextInt(40),
            k: 1 + rng.nextInt(40), r: 3, padding: rng.nextInt(2) == 0 ? .same : .valid)
    }

    /// The direct kernel's scalar sums of every output pixel (the reference), for weights w HWIO.
    static func directSums(_ g: ConvGeometry, _ xp: [UInt8], hp: Int, wp: Int, _ w: [Int8]) -> [Int32] {
        var shape = g.cShape
        let size = Int(cnns_qconv_direct_packed_size(&shape))
        var packed = [Int8](repeating: 0, count: size), scratch = packed
        cnns_qconv_direct_pack(&shape, w, &packed, &scratch)
        let rows = g.n * g.p * g.q
        var sums = [Int32](repeating: 0, count: rows * g.k)
        cnns_qconv_direct_u7s8_scalar(&shape, xp, Int32(hp), Int32(wp), 0, Int32(rows), packed, &sums, Int32(g.k))
        return sums
    }

    /// Every tile's four sums (and, on the pooled grid, their maximum) from both builds, in chunks
    /// of random length from a random first tile, equal the direct sums of the same pixels.
    func check(_ g: ConvGeometry, x: [UInt8], w: [Int8], pad: UInt8, rng: inout SeededGenerator, seed: UInt64) {
        let (xp, hp, wp) = Int8DirectConvolutionTests.padded(x, g, pad: pad)
        let want = Self.directSums(g, xp, hp: hp, wp: wp, w)
        let K = g.k
        var packed = [Int16](repeating: 0, count: Int(cnns_qwino_packed_size(Int32(g.c), Int32(K))) / 2)
        cnns_qwino_pack(Int32(g.c), Int32(K), w, &packed)
        var builds: [(String, QWino)] = [("avx2-or-plain", cnns_qwino_u7s8), ("scalar", cnns_qwino_u7s8_scalar)]
        if Blas.haveAVX512VNNI { builds.append(("avx512-vnni", cnns_qwino_u7s8_avx512vnni)) }
        for pooled in [false, true] {
            var (ty, tx, tiles, shape) = Int8WinogradTesting.tileGrid(g, hp: hp, wp: wp, pad: pad, pooled: pooled)
            guard tiles > 0 else { continue }
            let t0 = rng.nextInt(max(1, tiles / 3)), T = 1 + rng.nextInt(20)
            var work = [UInt8](repeating: 0, count: Int(cnns_qwino_workspace_size(Int32(g.c), Int32(K), Int32(T))))
            let per = pooled ? K : 4 * K
            for (name, kernel) in builds {
                let got = Int8WinogradTesting.chunked(tiles: tiles, from: t0, by: T, per: per) {
                    kernel(&shape, xp, $0, $1, pooled ? 1 : 0, packed, &work, $2)
                }
                var mismatches = 0
                for tile in t0..<tiles {
                    let pixels = Int8WinogradTesting.pixels(ofTile: tile, ty: ty, tx: tx, g)
                    for k in 0..<K {
                        if pooled {
                            if got[(tile - t0) * K + k] != pixels.map({ want[$0.index * K + k] }).max()! {
                                mismatches += 1
                            }
                        } else {
                            mismatches +=
                                pixels.filter {
                                    got[((tile - t0) * 4 + $0.corner) * K + k] != want[$0.index * K + k]
                                }.count
                        }
                    }
                }
                XCTAssertEqual(
                    mismatches, 0, "\(name) \(pooled ? "pooled " : "")\(g) tiles from \(t0) by \(T), seed \(seed)")
            }
        }
    }

    typealias QWino = Int8Conv2D.WinogradKernel

    func testWinogradSumsEqualDirectSumsExactly() throws {
        KernelVariants.notRunHere("Int8WinogradTests.testWinogradSumsEqualDirectSumsExactly")
        let seed = ConvTester.randomSeed("Int8WinogradTests.testWinogradSumsEqualDirectSumsExactly")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labLayers.map { try ConvGeometry.parse($0) }
        for _ in 0..<16 { shapes.append(try Self.randomGeometry(&rng)) }
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qwino_fits(&shape), 1, "\(g)")
            let x = (0..<(g.n * g.h * g.w * g.c)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(9 * g.c * g.k)).map { _ in Int8(rng.nextInt(255) - 127) }
            check(g, x: x, w: w, pad: UInt8(rng.nextInt(128)), rng: &rng, seed: seed)
        }
    }

    /// Large transforms (|V| up to 16·127, |U'| up to 72·127) stay exact: inputs of 0 and 127 in a
    /// checkerboard and weights of ±127 in alternating taps, at 64 channels, at 300 (two parts of
    /// the channel sums, the second of 44, and 5 columns past the last block of 8) and at the most
    /// channels the kernel takes (four parts of 256).
    func testExtremeValuesStayExact() throws {
        var rng = SeededGenerator(seed: 1)
        let texts = [
            "N=1,H=8,W=8,C=64,K=16,R=3", "N=1,H=6,W=10,C=300,K=21,R=3,pad=valid",
            "N=1,H=6,W=6,C=\(CNNS_QWINO_MAX_C),K=8,R=3,pad=valid",
        ]
        for text in texts {
            let g = try ConvGeometry.parse(text)
            let x = Int8WinogradTesting.checkerboard(g)
            for sign in [Int8(127), Int8(-127)] {
                let w = (0..<(9 * g.c * g.k)).map { i -> Int8 in
                    let tap = i / (g.c * g.k)
                    return tap % 2 == 0 ? sign : -sign
                }
                check(g, x: x, w: w, pad: 127, rng: &rng, seed: 1)
            }
        }
    }

    /// The Winograd path of Int8Conv2D gives the direct path's floats bit for bit, with and without
    /// the fused 2x2 max pooling, under every ISA cap.
    func testInt8ConvolutionWinogradPathEqualsDirectPath() throws {
        let seed = ConvTester.randomSeed("Int8WinogradTests.testInt8ConvolutionWinogradPathEqualsDirectPath")
        var rng = SeededGenerator(seed: seed)
        var shapes = try Self.labLayers.map { try ConvGeometry.parse($0) }
        for _ in 0..<4 { shapes.append(try Self.randomGeometry(&rng)) }
        for g in shapes {
            let layer = Int8WinogradTesting.RandomLayer(g, &rng)
            Int8WinogradTesting.compareWinograd(g, layer, against: .direct) { isa, pooled, _, got, want in
                XCTAssertEqual(
                    got.map(\.bitPattern), want.map(\.bitPattern),
                    "\(pooled ? "pooled " : "")\(g) under \(isa), seed \(seed)")
            }
        }
    }

    /// Winograd is taken only where it fits (3x3 or 5x5, stride 1, not too many channels);
    /// elsewhere the direct kernel or lowering.
    func testWinogradPathOnlyWhereItFits() throws {
        let q = ActivationQuantization(min: -1, max: 1)
        for (text, fits) in [
            ("N=1,H=13,W=13,C=32,K=64,R=3,pad=valid", true), ("N=1,H=28,W=28,C=1,K=32,R=3", true),
            ("N=1,H=28,W=28,C=1,K=32,R=5", true), ("N=1,H=14,W=14,C=8,K=16,R=3,stride=2", false),
            ("N=1,H=14,W=14,C=8,K=16,R=5,stride=2", false), ("N=1,H=6,W=6,C=\(CNNS_QWINO5_MAX_C + 1),K=8,R=5", false),
            ("N=1,H=9,W=9,C=8,K=16,R=7", false),
            ("N=1,H=7,W=7,C=64,K=8,R=1", false),
        ] {
            let g = try ConvGeometry.parse(text)
            XCTAssertEqual(Int8Conv2D.winogradFits(g), fits, text)
            let w = [Float](repeating: 0.25, count: g.r * g.s * g.c * g.k)
            let conv = Int8Conv2D(geometry: g, weights: w, bias: nil, input: q, isa: "avx2", path: .winograd)
            XCTAssertEqual(conv.winograd, fits, text)
            XCTAssertEqual(conv.direct, !fits && Int8Conv2D.directFits(g), text)
        }
    }
}
