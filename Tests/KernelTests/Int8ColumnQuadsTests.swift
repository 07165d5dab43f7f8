import CKernels
import Tensor
import XCTest

@testable import Kernels

/// Column quads (a one-channel layer's kernel rows read down their columns, four bytes a group):
/// the copy they read, where they apply, and the pooled kernel on them, exactly against the pooled
/// kernel on kernel rows (random shapes, seed printed, replay with CNNSCOPE_TEST_SEED; and the lab's
/// large-filters first layer).
final class Int8ColumnQuadsTests: XCTestCase {
    typealias PooledQuads = Int8Conv2D.PooledQuadsKernel

    /// large-filters' first layer: 28x28x1 -> 32, 5x5.
    static let labLayer = "N=2,H=28,W=28,C=1,K=32,R=5"

    /// The copy's pixel (n, y, x) holds pixels (n, y..y+3, x) of the padded input, zeros past an
    /// image's last row, whichever ranges of rows build it (widths below and above the vector step).
    func testColumnQuadCopyHoldsFourRowsAPixel() throws {
        let seed = ConvTester.randomSeed("Int8ColumnQuadsTests.testColumnQuadCopyHoldsFourRowsAPixel")
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<12 {
            let n = 1 + rng.nextInt(3), hp = 1 + rng.nextInt(12), wp = 1 + rng.nextInt(40), rows = n * hp
            let xp = (0..<(rows * wp)).map { _ in UInt8(rng.nextInt(256)) }
            var want = [UInt8](repeating: 0, count: rows * wp * 4)
            for row in 0..<rows {
                for x in 0..<wp {
                    for i in 0..<4 where row % hp + i < hp { want[(row * wp + x) * 4 + i] = xp[(row + i) * wp + x] }
                }
            }
            var got = [UInt8](repeating: 99, count: rows * wp * 4)
            let split = rng.nextInt(rows + 1)
            cnns_qconv_column_quads(xp, Int32(hp), Int32(wp), 0, split, &got)
            cnns_qconv_column_quads(xp, Int32(hp), Int32(wp), split, rows - split, &got)
            XCTAssertEqual(got, want, "n \(n) hp \(hp) wp \(wp) split \(split), seed \(seed)")
        }
    }

    /// Quads apply to one-channel layers of at least four rows where they take fewer groups.
    func testColumnQuadsApplyWhereTheyTakeFewerGroups() throws {
        for (spec, fits, groups) in [
            ("N=1,H=28,W=28,C=1,K=32,R=5", true, 7), ("N=1,H=28,W=28,C=1,K=32,R=7", true, 13),
            ("N=1,H=28,W=28,C=1,K=32,R=3", false, 0), ("N=1,H=28,W=28,C=1,K=32,R=4", false, 0),
            ("N=1,H=28,W=28,C=2,K=32,R=5", false, 0), ("N=1,H=28,W=28,C=1,K=12,R=5", false, 0),
        ] {
            var shape = try ConvGeometry.parse(spec).cShape
            XCTAssertEqual(cnns_qconv_quads_fits(&shape) != 0, fits, spec)
            if fits { XCTAssertEqual(Int(cnns_qconv_quads_groups(&shape)), groups, spec) }
        }
        let q = ActivationQuantization(min: -1, max: 1), g = try ConvGeometry.parse(Self.labLayer)
        let w = Tensor(shape: g.weightShape), b = try Tensor([g.k])
        // The AVX2 and scalar builds take quads; VNNI keeps kernel rows (quads did not pay there).
        for isa in ConvOptions.availableISAs {
            let conv = Int8Conv2D(geometry: g, weights: w.data, bias: b.data, input: q, isa: isa)
            XCTAssertEqual(conv.columnQuads, conv.gemmISA != "avx512-vnni", isa)
        }
        XCTAssertFalse(
            Int8Conv2D(geometry: g, weights: w.data, bias: b.data, input: q, isa: "avx2", path: .lowered).columnQuads)
    }

    /// Every build of the pooled kernel on column quads gives the floats of the pooled kernel on
    /// kernel rows (the scalar reference, itself checked against the direct sums), bit for bit, from a
    /// pooled row inside the batch, writing nothing before it.
    func testPooledQuadsEqualThePooledKernelOnRows() throws {
        KernelVariants.notRunHere("Int8ColumnQuadsTests.testPooledQuadsEqualThePooledKernelOnRows")
        let seed = ConvTester.randomSeed("Int8ColumnQuadsTests.testPooledQuadsEqualThePooledKernelOnRows")
        var rng = SeededGenerator(seed: seed)
        var shapes = [try ConvGeometry.parse(Self.labLayer)]
        while shapes.count < 16 {
            let g = try Int8DirectConvolutionTests.randomPooledGeometry(
                &rng, c: 1, r: 4 + rng.nextInt(4), s: 1 + rng.nextInt(7), extent: 12)
            var shape = g.cShape
            if cnns_qconv_quads_fits(&shape) != 0 { shapes.append(g) }
        }
        for g in shapes {
            var shape = g.cShape
            XCTAssertEqual(cnns_qconv_quads_fits(&shape), 1, "\(g)")
            let K = g.k, P2 = g.p / 2, Q2 = g.q / 2
            let x = (0..<(g.n * g.h * g.w)).map { _ in UInt8(rng.nextInt(128)) }
            let w = (0..<(g.r * g.s * K)).map { _ in Int8(rng.nextInt(255) - 127) }
            let mul = (0..<K).map { _ in rng.nextFloat(low: 1e-5, high: 1e-3) }
            let off = (0..<K).map { _ in rng.nextFloat(low: -0.5, high: 0.5) }
            let (xp, hp, wp) = Int8DirectConvolutionTests.padded(x, g, pad: UInt8(rng.nextInt(128)))
            var rowsPacked = [Int8](repeating: 0, count: Int(cnns_qconv_direct_packed_size(&shape)))
            var scratch = rowsPacked
            cnns_qconv_direct_pack(&shape, w, &rowsPacked, &scratch)
            var quadsPacked = [Int8](repeating: 0, count: Int(cnns_qconv_quads_packed_size(&shape)))
            scratch = quadsPacked
            cnns_qconv_quads_pack(&shape, w, &quadsPacked, &scratch)
            var xq4 = [UInt8](repeating: 0, count: g.n * hp * wp * 4)
            cnns_qconv_column_quads(xp, Int32(hp), Int32(wp), 0, g.n * hp, &xq4)
            let pooledRows = g.n * P2, pr0 = rng.nextInt(max(1, pooledRows / 2))
            var want = [Float](repeating: .nan, count: pooledRows * Q2 * K)
            cnns_qconv_pooled_small_scalar(
                &shape, xp, Int32(hp), Int32(wp), pr0, Int32(pooledRows - pr0), rowsPacked, mul, off, 0, 30, &want)
            var builds: [(String, PooledQuads)] = [
                ("avx2-or-plain", cnns_qconv_pooled_quads), ("scalar", cnns_qconv_pooled_quads_scalar),
            ]
            if Blas.haveAVX512VNNI { builds.append(("avx512-vnni", cnns_qconv_pooled_quads_avx512vnni)) }
            for (name, kernel) in builds {
                var got = [Float](repeating: .nan, count: pooledRows * Q2 * K)
                kernel(
                    &shape, xp, xq4, Int32(hp), Int32(wp), pr0, Int32(pooledRows - pr0), quadsPacked, mul, off, 0, 30,
                    &got)
                XCTAssertEqual(
                    got.map(\.bitPattern), want.map(\.bitPattern), "\(name) \(g) from pooled row \(pr0), seed \(seed)")
            }
        }
    }

    /// On the lab's layer, the layer's pooled pass (on column quads, or on VNNI on rows) equals pooling
    /// its unfused output (on kernel rows), bit for bit, on every ISA, one and two workers.
    func testTheLabLayerPooledOnQuadsEqualsPoolingItsOutput() throws {
        let g = try ConvGeometry.parse(Self.labLayer)
        var rng = SeededGenerator(seed: 5)
        let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), b = try Tensor([g.k])
        x.fillUniform(&rng, low: -1, high: 1); w.fillUniform(&rng, low: -0.5, high: 0.5)
        b.fillUniform(&rng, low: -0.2, high: 0.2)
        let (P2, Q2) = (g.p / 2, g.q / 2)
        for isa in ConvOptions.availableISAs {
            let conv = Int8Conv2D(
                geometry: g, weights: w.data, bias: b.data, input: ActivationQuantization(min: -1, max: 1), isa: isa)
            XCTAssertEqual(conv.columnQuads, conv.gemmISA != "avx512-vnni", isa)
            for runner in [SerialRunner(), TwoThreadRunner()] as [ParallelRunner] {
                let full = Tensor(shape: g.outputShape), pooled = try Tensor([g.n, P2, Q2, g.k])
                conv.forward(input: x.data, batch: g.n, output: full.data, runner: runner, clamp: 0...6)
                conv.forwardPooled2x2(input: x.data, batch: g.n, output: pooled.data, runner: runner, clamp: 0...6)
                let want = Int8Tests.maxPooled2x2(full, g)
                let mismatches = want.indices.filter { pooled.data[$0].bitPattern != want[$0].bitPattern }.count
                XCTAssertEqual(mismatches, 0, "isa \(isa) workers \(runner.width)")
            }
        }
    }
}
