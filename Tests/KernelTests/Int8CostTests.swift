import Kernels
import Tensor
import XCTest

/// The int8 convolution's declared costs: the scratch it declares is what it holds after a pass,
/// on every path, ISA and worker count; the executed operations follow each path's formula.
final class Int8CostTests: XCTestCase {
    func layer(_ g: ConvGeometry, path: Int8Conv2D.Path, isa: String) -> Int8Conv2D {
        var rng = SeededGenerator(seed: 11)
        let w = Tensor(shape: g.weightShape), b = try! Tensor([g.k])
        w.fillUniform(&rng, low: -0.5, high: 0.5)
        return Int8Conv2D(
            geometry: g, weights: w.data, bias: b.data, input: ActivationQuantization(min: -1, max: 1), isa: isa,
            path: path)
    }

    /// The lab's shapes (large-filters' first layer on column quads under pooling) and a few odd ones
    /// (C not a multiple of 4, K not of 8 or 16, odd maps).
    func shapes() throws -> [ConvGeometry] {
        [
            try ConvGeometry(n: 3, h: 28, w: 28, c: 1, k: 32, r: 3),
            try ConvGeometry(n: 2, h: 28, w: 28, c: 1, k: 32, r: 5),
            try ConvGeometry(n: 3, h: 14, w: 14, c: 32, k: 64, r: 3),
            try ConvGeometry(n: 2, h: 14, w: 14, c: 32, k: 64, r: 5),
            try ConvGeometry(n: 2, h: 7, w: 9, c: 6, k: 20, r: 3),
            try ConvGeometry(n: 2, h: 11, w: 10, c: 5, k: 12, r: 5, padding: .valid),
            try ConvGeometry(n: 2, h: 9, w: 9, c: 3, k: 10, r: 3, stride: 2),
        ]
    }

    func testDeclaredWorkspaceIsWhatTheLayerHoldsAfterAPass() throws {
        for g in try shapes() {
            for isa in ConvOptions.availableISAs {
                for path in [Int8Conv2D.Path.direct, .lowered, .winograd, .winogradU8] {
                    for runner in [SerialRunner(), TwoThreadRunner()] as [ParallelRunner] {
                        for pooled in [false, true] where !pooled || (g.p >= 2 && g.q >= 2) {
                            let conv = layer(g, path: path, isa: isa)
                            let x = Tensor(shape: g.inputShape)
                            var rng = SeededGenerator(seed: 3)
                            x.fillUniform(&rng, low: -1, high: 1)
                            let out = Tensor.allocate(g.n * g.p * g.q * g.k)
                            defer { out.deallocate() }
                            if pooled {
                                conv.forwardPooled2x2(input: x.data, batch: g.n, output: out, runner: runner)
                            } else {
                                conv.forward(input: x.data, batch: g.n, output: out, runner: runner)
                            }
                            let declared = conv.cost(batch: g.n, workers: runner.width, pooled: pooled)
                            XCTAssertEqual(
                                declared.workspaceBytes, Double(conv.heldWorkspaceBytes),
                                "\(g) \(conv.kernelName) pooled \(pooled) workers \(runner.width)")
                            XCTAssertGreaterThan(declared.algorithmTrafficBytes, declared.minimumTrafficBytes)
                        }
                    }
                }
            }
        }
    }

    func testExecutedOperationsFollowEachPath() throws {
        let isa = ConvOptions.bestISA
        // 14x14x32->64 3x3: no padding of the patch or of K; the direct and lowered paths run every
        // multiply-add of the definition, F(2x4,3x3) 24 of 72 per 2x4 tile plus its transforms.
        let g = try ConvGeometry(n: 2, h: 14, w: 14, c: 32, k: 64, r: 3)
        let direct = ConvCost.direct(g)
        for path in [Int8Conv2D.Path.direct, .lowered] {
            let c = layer(g, path: path, isa: isa).cost(batch: 2, workers: 1)
            XCTAssertEqual(c.directFLOPs, direct)
            XCTAssertEqual(c.executedFLOPs, direct, "\(path)")
        }
        XCTAssertTrue(layer(g, path: .direct, isa: isa).direct)
        let wino = layer(g, path: .winograd, isa: isa)
        XCTAssertTrue(wino.winograd)
        // A 7x7 grid of 2x2 tiles makes 7 rows of 4 2x4 tiles. The input transform: F(2x2,3x3)'s Bᵀ (8
        // non-zeros) down each of 6 columns and F(4x4,3x3)'s (22) across each of 4 rows, 2 FLOPs a
        // term; the output transform: Aᵀ of 6 down 6 columns, then of 18 across 2 rows.
        let tiles = 2.0 * 7 * 4
        let transforms = tiles * 32 * 2 * (6 * 8 + 4 * 22) + tiles * 64 * 2 * (6 * 6 + 2 * 18)
        XCTAssertEqual(wino.cost(batch: 2, workers: 1).executedFLOPs, 2 * 24 * tiles * 32 * 64 + transforms)
        XCTAssertLessThan(wino.cost(batch: 2, workers: 1).executedFLOPs, direct)
        // Under 2x2 pooling the kernel computes one 2x2 tile per window, a quarter of the pixels here.
        XCTAssertEqual(
            wino.cost(batch: 2, workers: 1, pooled: true).executedFLOPs,
            wino.cost(batch: 2, workers: 1).executedFLOPs, "7x7 tiles cover 14x14 in both")
        // C = 2, K = 20, 3x3: in place the kernel reads R·⌈S·C/4⌉·4 = 3·8 bytes per patch, lowered
        // ⌈R·S·C/4⌉·4 = 20; both pad K to 24.
        let odd = try ConvGeometry(n: 1, h: 7, w: 9, c: 2, k: 20, r: 3)
        let pixels = 7.0 * 9
        XCTAssertTrue(layer(odd, path: .direct, isa: isa).direct)
        XCTAssertEqual(
            layer(odd, path: .direct, isa: isa).cost(batch: 1, workers: 1).executedFLOPs, 2 * pixels * 24 * 24)
        XCTAssertEqual(
            layer(odd, path: .lowered, isa: isa).cost(batch: 1, workers: 1).executedFLOPs, 2 * pixels * 24 * 20)
        // Pooled 7x9: the direct kernel sums the 4·3·4 pixels under the windows, lowering the two
        // whole rows under each of the 3 pooled rows.
        XCTAssertEqual(
            layer(odd, path: .direct, isa: isa).cost(batch: 1, workers: 1, pooled: true).executedFLOPs,
            2 * 48 * 24 * 24)
        XCTAssertEqual(
            layer(odd, path: .lowered, isa: isa).cost(batch: 1, workers: 1, pooled: true).executedFLOPs,
            2 * 54 * 24 * 20)
        // large-filters' first layer, 28x28x1 -> 32, 5x5, pooled: its 196 windows' 784 pixels a
        // image, each patch 5 rows of 2 groups of 4 bytes on kernel rows, and on column quads 5
        // columns of rows 0-3 and 2 groups of row 4 (7 groups of 4 bytes); unpooled, kernel rows.
        let first = try ConvGeometry(n: 1, h: 28, w: 28, c: 1, k: 32, r: 5)
        let quads = layer(first, path: .direct, isa: "avx2")
        XCTAssertTrue(quads.columnQuads)
        XCTAssertEqual(quads.cost(batch: 1, workers: 1, pooled: true).executedFLOPs, 2 * 784 * 32 * 28)
        XCTAssertEqual(quads.cost(batch: 1, workers: 1).executedFLOPs, 2 * 784 * 32 * 40)
        // VNNI keeps kernel rows under pooling too.
        let rows = layer(first, path: .direct, isa: "avx512")
        if rows.gemmISA == "avx512-vnni" {
            XCTAssertFalse(rows.columnQuads)
            XCTAssertEqual(rows.cost(batch: 1, workers: 1, pooled: true).executedFLOPs, 2 * 784 * 32 * 40)
        }
        // F(2x4,5x5): 48 points per 2x4 tile (a 5x5 grid of 2x2 tiles makes 5 rows of 3), C padded
        // to even, K to 16, plus one scaling per point. Its input transform: F(2x2,5x5)'s Bᵀ (22
        // non-zeros) down each of 8 columns and F(4x4,5x5)'s (44) across each of 6 rows, 2 FLOPs a
        // term; its output transform: Aᵀ of 10 down 8 columns, then of 26 across 2 rows.
        let five = try ConvGeometry(n: 1, h: 10, w: 10, c: 5, k: 20, r: 5)
        let w5 = layer(five, path: .winograd, isa: isa)
        XCTAssertTrue(w5.winograd)
        XCTAssertEqual(w5.winogradInputTransforms(batch: 2, pooled: false), 30)
        XCTAssertEqual(w5.winogradInputTransforms(batch: 1, pooled: true), 15)
        let wide = 15.0
        XCTAssertEqual(
            w5.cost(batch: 1, workers: 1).executedFLOPs,
            2 * 48 * wide * 6 * 32 + wide * 5 * 2 * (8 * 22 + 6 * 44) + wide * 20 * 2 * (8 * 10 + 2 * 26)
                + wide * 48 * 20)
        let t5 = 25.0
        // The 8-bit domain (under the scalar cap: its reference; VNNI where present): C padded to a
        // multiple of 4, K to 16, plus one scaling per output of a tile.
        let small = try ConvGeometry(n: 1, h: 7, w: 9, c: 6, k: 20, r: 3)
        let u8 = layer(small, path: .winogradU8, isa: "scalar")
        XCTAssertTrue(u8.winogradU8)
        let t8 = 4.0 * 5
        XCTAssertEqual(
            u8.cost(batch: 1, workers: 1).executedFLOPs,
            2 * 16 * t8 * 8 * 32 + t8 * 6 * WinogradTransform.f2x3.inputFLOPsPerTileChannel + t8 * 20
                * WinogradTransform.f2x3.outputFLOPsPerTileFilter + t8 * 4 * 20)
        // A 5x5 layer there: four 3x3 sub-kernels, four blocks of C' channels and four input transforms.
        let u5 = layer(five, path: .winogradU8, isa: "scalar")
        XCTAssertTrue(u5.winogradU8)
        XCTAssertEqual(
            u5.cost(batch: 1, workers: 1).executedFLOPs,
            2 * 16 * t5 * 4 * 8 * 32 + 4 * t5 * 5 * WinogradTransform.f2x3.inputFLOPsPerTileChannel + t5 * 20
                * WinogradTransform.f2x3.outputFLOPsPerTileFilter + t5 * 4 * 20)
        // Its VNNI build transforms each patch of the grid extended to 6x6 once (one chunk of 25 tiles),
        // and runs 49 of the 64 blocks of C' channels (where U of the offset-2 sub-kernels is not zero).
        if Blas.haveAVX512VNNI {
            let v5 = layer(five, path: .winogradU8, isa: "avx512")
            XCTAssertEqual(v5.kernelName, "avx512-vnni winograd-u8")
            XCTAssertEqual(v5.winogradGEMMBlocks, 49)
            XCTAssertEqual(v5.winogradInputTransforms(batch: 1, pooled: false), 36)
            // Three images, 75 tiles: chunks of 48 and 27 reach entries 0...69 and 63...107.
            XCTAssertEqual(v5.winogradInputTransforms(batch: 3, pooled: false), 70 + 45)
            XCTAssertEqual(
                v5.cost(batch: 1, workers: 1).executedFLOPs,
                2 * 49 * t5 * 8 * 32 + 36 * 5 * WinogradTransform.f2x3.inputFLOPsPerTileChannel + t5 * 20
                    * WinogradTransform.f2x3.outputFLOPsPerTileFilter + t5 * 4 * 20)
        } else {
            print("Int8CostTests: no AVX-512 VNNI here, the 8-bit domain's vector build's count is not checked")
        }
    }
}
