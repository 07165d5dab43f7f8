import Tensor
import XCTest

@testable import Kernels

final class ConvolutionTests: XCTestCase {
    /// Every conv layer shape of the lab's architectures (batch 2 to keep the reference fast).
    static let labLayers: [String] = [
        // 28x28x1 -> 8/16/32/64, kernels 2, 3, 5
        "N=2,H=28,W=28,C=1,K=8,R=3", "N=2,H=28,W=28,C=1,K=16,R=3", "N=2,H=28,W=28,C=1,K=32,R=3",
        "N=2,H=28,W=28,C=1,K=64,R=3", "N=2,H=28,W=28,C=1,K=32,R=5", "N=2,H=28,W=28,C=1,K=32,R=2",
        // 14x14x8..64 -> 16..128
        "N=2,H=14,W=14,C=8,K=16,R=3", "N=2,H=14,W=14,C=16,K=32,R=3", "N=2,H=14,W=14,C=32,K=64,R=3",
        "N=2,H=14,W=14,C=64,K=128,R=3", "N=2,H=14,W=14,C=32,K=64,R=5", "N=2,H=14,W=14,C=32,K=64,R=2",
        // 7x7x64 -> 128
        "N=2,H=7,W=7,C=64,K=128,R=3", "N=2,H=7,W=7,C=64,K=128,R=5",
        // CIFAR: 32x32x3 -> 32, 16x16x32 -> 64
        "N=2,H=32,W=32,C=3,K=32,R=3", "N=2,H=16,W=16,C=32,K=64,R=3", "N=2,H=16,W=16,C=32,K=64,R=5",
    ]

    static let oddLayers: [String] = [
        "N=1,H=13,W=11,C=5,K=7,R=3", "N=1,H=13,W=11,C=3,K=4,R=3,stride=2",
        "N=3,H=9,W=10,C=4,K=6,R=3,pad=valid", "N=1,H=8,W=8,C=1,K=1,R=1",
        "N=2,H=7,W=9,C=6,K=5,R=1,stride=2", "N=1,H=11,W=11,C=3,K=8,R=7,stride=2",
        "N=1,H=6,W=6,C=2,K=3,R=4", "N=1,H=10,W=12,C=3,K=5,R=3,S=5", "N=1,H=5,W=5,C=3,K=2,R=5,pad=valid",
        "N=1,H=3,W=3,C=2,K=2,R=3", "N=1,H=1,W=1,C=4,K=3,R=3", "N=2,H=6,W=5,C=3,K=4,R=2,stride=2,pad=valid",
        // 2x2 kernels (F(3x3,2x2)): 'same' pads bottom and right only; sizes not multiples of 3.
        "N=2,H=5,W=7,C=4,K=6,R=2", "N=1,H=8,W=7,C=3,K=5,R=2,pad=valid", "N=1,H=1,W=2,C=3,K=4,R=2",
    ]

    func testLabLayerShapesAllAlgorithms() throws {
        for (i, text) in Self.labLayers.enumerated() {
            let g = try ConvGeometry.parse(text)
            try ConvTester(g, seed: 1000 + UInt64(i)).checkAll()
        }
    }

    /// The input gradient of 'same' layers as forward convolutions with mirrored padding: a 2x2
    /// kernel's moves to the top and left (every algorithm against the Double reference, which reads
    /// the geometry's padding); an odd kernel's mirror is the 'same' rule again.
    func testMirroredPaddingGeometries() throws {
        for (i, text) in ["N=2,H=14,W=14,C=32,K=64,R=2", "N=1,H=5,W=7,C=6,K=4,R=2", "N=1,H=4,W=6,C=3,K=5,R=2,S=3"]
            .enumerated()
        {
            let g = try ConvGeometry.parse(text)
            let m = try ConvGeometry(mirroring: g, batch: g.n)
            XCTAssertEqual([m.padTop, m.padLeft], [g.r - 1 - g.padTop, g.s - 1 - g.padLeft])
            XCTAssertEqual([m.padBottom, m.padRight], [g.r - 1 - m.padTop, g.s - 1 - m.padLeft])
            XCTAssertEqual([m.p, m.q, m.c, m.k], [g.h, g.w, g.k, g.c])
            XCTAssertTrue(m.hasMirroredPadding)
            XCTAssertTrue(m.description.hasSuffix(",padTop=\(m.padTop),padLeft=\(m.padLeft)"), m.description)
            XCTAssertEqual(try m.withBatch(3).padTop, m.padTop)
            try ConvTester(m, seed: 4000 + UInt64(i)).checkAll(runner: TwoThreadRunner())
        }
        let odd = try ConvGeometry.parse("N=2,H=9,W=9,C=4,K=6,R=3")
        let oddMirror = try ConvGeometry(mirroring: odd, batch: 2)
        XCTAssertEqual(
            [oddMirror.padTop, oddMirror.padLeft, oddMirror.c, oddMirror.k], [odd.padTop, odd.padLeft, 6, 4])
        XCTAssertFalse(oddMirror.hasMirroredPadding)
        XCTAssertThrowsError(
            try ConvGeometry(mirroring: try ConvGeometry.parse("N=1,H=9,W=9,C=4,K=6,R=3,stride=2"), batch: 1))
    }

    func testOddShapesStridesAndValidPadding() throws {
        for (i, text) in Self.oddLayers.enumerated() {
            let g = try ConvGeometry.parse(text)
            try ConvTester(g, seed: 2000 + UInt64(i)).checkAll()
        }
    }

    func testRandomShapes() throws {
        let seed = ConvTester.randomSeed("ConvolutionTests.testRandomShapes")
        var rng = SeededGenerator(seed: seed)
        for i in 0..<12 {
            let r = 1 + rng.nextInt(5), s = rng.nextInt(3) == 0 ? 1 + rng.nextInt(5) : r
            let stride = 1 + rng.nextInt(2)
            let pad: Padding = rng.nextInt(3) == 0 ? .valid : .same
            let h = max(r, 1 + rng.nextInt(14)), w = max(s, 1 + rng.nextInt(14))
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(3), h: h, w: w, c: 1 + rng.nextInt(20), k: 1 + rng.nextInt(20),
                r: r, s: s, stride: stride, padding: pad)
            // Data seeded from the test seed and the shape's position (hashValue is randomised per process).
            try ConvTester(g, seed: seed &+ UInt64(i) &* 7919).checkAll()
        }
    }

    func testThreadedAndChunkedMatchReference() throws {
        let g = try ConvGeometry.parse("N=3,H=14,W=14,C=16,K=24,R=3")
        // Tiny workspace limits force many chunks; two workers split the rows and tiles.
        let options = ConvOptions(workspaceLimitBytes: 4096, winogradChunkBytes: 4096)
        try ConvTester(g, seed: 7).checkAll(runner: TwoThreadRunner(), options: options)
        // Winograd's output transform with streaming stores (any output size), on two workers.
        var streaming = options
        streaming.streamingStoreMinBytes = 0
        try ConvTester(try ConvGeometry.parse("N=3,H=14,W=14,C=16,K=32,R=3"), seed: 8).checkAll(
            runner: TwoThreadRunner(), options: streaming)
    }

    /// An inference forward (`outputReadNext`) keeps the output cached below its own threshold and
    /// streams it past the caches above it; the values are the same bit for bit either way.
    func testWinogradOutputReadNextChangesOnlyTheStores() throws {
        let g = try ConvGeometry.parse("N=3,H=14,W=14,C=16,K=32,R=3")
        var options = ConvOptions()
        options.streamingStoreMinBytes = 0
        options.streamingStoreMinBytesAtInference = 1 << 30
        var rng = SeededGenerator(seed: 29)
        let x = Tensor(shape: g.inputShape), w = Tensor(shape: g.weightShape), b = try Tensor([g.k])
        x.fillUniform(&rng, low: -1, high: 1); w.fillUniform(&rng, low: -0.5, high: 0.5)
        b.fillUniform(&rng, low: -0.1, high: 0.1)
        var outputs: [[UInt32]] = []
        for (readNext, limit) in [(false, 1 << 30), (true, 1 << 30), (true, 0)] {
            options.streamingStoreMinBytesAtInference = limit
            let algo = try XCTUnwrap(try ConvAlgorithmKind.winogradF4.make(g, options: options) as? WinogradConv2D)
            algo.outputReadNext = readNext
            let y = Tensor(shape: g.outputShape)
            y.fill(.nan)
            try algo.forward(input: x, weights: w, bias: b, output: y, runner: TwoThreadRunner())
            outputs.append(y.array.map(\.bitPattern))
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
    }

    /// Weight panels larger than the small kernel takes: Winograd's transform-domain GEMMs run on
    /// the pointwise kernel over packed U[ξ] (a low panel limit forces it on small shapes; K not a
    /// multiple of 16 leaves a partial last panel), and so does a real 512-channel layer.
    func testWinogradPackedTransformDomainGemm() throws {
        let options = ConvOptions(winogradChunkBytes: 8192, smallGemmMaxPanelFloats: 64)
        for text in ["N=2,H=9,W=11,C=12,K=21,R=3", "N=1,H=8,W=8,C=40,K=16,R=5", "N=1,H=5,W=6,C=7,K=50,R=3"] {
            let g = try ConvGeometry.parse(text)
            let kind: ConvAlgorithmKind = g.r == 5 ? .winogradF2x5 : .winogradF4
            XCTAssertTrue(
                try XCTUnwrap(try kind.make(g, options: options) as? WinogradConv2D).usesPackedGemm
                    || !Blas.haveSmallGemm)
            try ConvTester(g, seed: 13).checkAll(runner: TwoThreadRunner(), options: options)
        }
        try ConvTester(try ConvGeometry.parse("N=1,H=4,W=5,C=512,K=200,R=3"), seed: 17).checkAll(
            runner: TwoThreadRunner())
    }

    /// Packed U and more chunks of tiles than workers: the forward runs the layer whole (every
    /// tile's V, the GEMMs split by ξ and panel pairs, every output tile), and matches the Double
    /// reference as the chunked forward does; a limit of 0 keeps the chunks (three chunks at least,
    /// of 12 tiles on AVX2, 8 elsewhere). K = 50 leaves an odd
    /// panel count (4: two pairs) and K = 21 a partial last panel; the 5x5 and 512-channel layers
    /// take F(2x2,5x5) and a 512-channel U over the default limits.
    func testWinogradWholeLayerMatchesTheReference() throws {
        for limit in [16 << 20, 0] {
            var options = ConvOptions(winogradChunkBytes: 8192, smallGemmMaxPanelFloats: 64)
            options.winogradWholeLayerMaxBytes = limit
            for text in [
                "N=3,H=9,W=11,C=12,K=21,R=3", "N=1,H=17,W=17,C=7,K=50,R=3", "N=3,H=8,W=8,C=40,K=33,R=5",
                "N=1,H=22,W=22,C=32,K=40,R=3,pad=valid",
            ] {
                let g = try ConvGeometry.parse(text)
                let kind: ConvAlgorithmKind = g.r == 5 ? .winogradF2x5 : .winogradF4
                let algo = try XCTUnwrap(try kind.make(g, options: options) as? WinogradConv2D)
                XCTAssertEqual(algo.runsWholeLayer(batch: g.n, workers: 2), limit > 0 && Blas.haveSmallGemm, text)
                try ConvTester(g, seed: 19).checkAll(runner: TwoThreadRunner(), options: options)
            }
        }
        var big = ConvOptions()
        big.winogradWholeLayerMaxBytes = 16 << 20
        let g = try ConvGeometry.parse("N=1,H=9,W=9,C=512,K=200,R=3")
        let algo = try XCTUnwrap(try ConvAlgorithmKind.winogradF2.make(g, options: big) as? WinogradConv2D)
        XCTAssertEqual(algo.runsWholeLayer(batch: 1, workers: 2), Blas.haveSmallGemm)
        try ConvTester(g, seed: 23).checkAll(runner: TwoThreadRunner(), options: big)
    }

    /// On the AVX2 kernels a chunk holds whole 6-row blocks of tiles (the budget's 8 or 9 tiles
    /// become 12, a larger fit the next multiple of 6); elsewhere the budget's count stays, at least 8.
    /// The lab's 14x14x64->128 (a budget of 8 tiles) then matches the Double reference at batch 3
    /// on two workers (24 tiles each: two chunks of 12).
    func testWinogradChunksHoldWholeGemmRowBlocksOnAVX2() throws {
        let g = try ConvGeometry.parse("N=64,H=14,W=14,C=64,K=128,R=3")
        for isa in ConvOptions.availableISAs {
            for (budget, fit) in [(128 << 10, 8), (4096, 8), (9 * 36 * 4 * 192, 9), (19 * 36 * 4 * 192, 19)] {
                let options = ConvOptions(winogradChunkBytes: budget, isa: isa)
                let algo = try XCTUnwrap(try ConvAlgorithmKind.winogradF4.make(g, options: options) as? WinogradConv2D)
                let expected = options.wideKernelISA == "avx2" ? (fit + 5) / 6 * 6 : fit
                XCTAssertEqual(algo.tilesPerChunk, expected, "--isa \(isa), a budget of \(budget) bytes")
            }
        }
        if ConvOptions.availableISAs.contains("avx2") {
            try ConvTester(try ConvGeometry.parse("N=3,H=14,W=14,C=64,K=128,R=3"), seed: 29).checkAll(
                runner: TwoThreadRunner(), options: ConvOptions(winogradChunkBytes: 128 << 10, isa: "avx2"),
                allISAs: false)
        } else {
            print("ConvolutionTests: this CPU lacks AVX2+FMA: the 6-row chunks were not run here")
        }
    }

    /// Small layers run whole on worker 0 (the work hint) even with two workers: the buffers must
    /// hold a full chunk (the kernels assert this in debug builds).
    func testSmallLayersOnTwoWorkersStayInTheirBuffers() throws {
        for text in ["N=1,H=14,W=14,C=8,K=8,R=3", "N=2,H=6,W=6,C=4,K=4,R=3", "N=1,H=28,W=28,C=1,K=8,R=3"] {
            try ConvTester(try ConvGeometry.parse(text), seed: 11).checkAll(runner: TwoThreadRunner())
        }
    }

    func testWinogradRejectsWhatItCannotDo() throws {
        let g5 = try ConvGeometry.parse("N=1,H=8,W=8,C=2,K=2,R=5")
        XCTAssertThrowsError(try ConvAlgorithmKind.winogradF4.make(g5)) { e in
            XCTAssertTrue("\(e)".contains("5x5"), "\(e)")
        }
        let gs = try ConvGeometry.parse("N=1,H=8,W=8,C=2,K=2,R=3,stride=2")
        XCTAssertThrowsError(try ConvAlgorithmKind.winogradF2.make(gs))
    }

    func testWinogradFilterCacheFollowsWeightsVersion() throws {
        let g = try ConvGeometry.parse("N=1,H=6,W=6,C=2,K=3,R=3")
        let t = ConvTester(g, seed: 3)
        let algo = try ConvAlgorithmKind.winogradF2.make(g)
        let out1 = Tensor(shape: g.outputShape)
        try algo.forward(input: t.input, weights: t.weights, weightsVersion: 1, bias: t.bias, output: out1)
        for i in 0..<t.weights.count { t.weights.data[i] *= 2 }
        let out2 = Tensor(shape: g.outputShape)
        try algo.forward(input: t.input, weights: t.weights, weightsVersion: 2, bias: t.bias, output: out2)
        let ref = ReferenceConv2D.forward(g, input: t.input.data, weights: t.weights.data, bias: t.bias.data)
        for i in 0..<out2.count { XCTAssertEqual(Double(out2.data[i]), ref.output[i], accuracy: 1e-4) }
    }

    func testBadShapesGiveTypedErrors() throws {
        XCTAssertThrowsError(try ConvGeometry.parse("N=1,H=0,W=4,C=1,K=1,R=3")) { e in
            XCTAssertTrue("\(e)".contains("H must be positive"), "\(e)")
        }
        XCTAssertThrowsError(try ConvGeometry.parse("N=1,H=4,W=4,C=1,K=1,R=5,pad=valid")) { e in
            XCTAssertTrue("\(e)".contains("larger than the input"), "\(e)")
        }
        XCTAssertThrowsError(try ConvGeometry.parse("N=1,H=4,W=4,C=-2,K=1,R=3"))
        XCTAssertThrowsError(try ConvGeometry.parse("N=1,H=4,X=4,C=1,K=1,R=3")) { e in
            XCTAssertTrue("\(e)".contains("unknown key 'X'"), "\(e)")
        }
        let g = try ConvGeometry.parse("N=1,H=4,W=4,C=3,K=2,R=3")
        let algo = try ConvAlgorithmKind.im2col.make(g)
        let wrongInput = try Tensor([1, 4, 4, 2])
        XCTAssertThrowsError(
            try algo.forward(
                input: wrongInput, weights: try Tensor([3, 3, 3, 2]), bias: nil,
                output: try Tensor([1, 4, 4, 2]))
        ) { e in
            XCTAssertTrue("\(e)".contains("(1,4,4,2)"), "\(e)")
        }
        XCTAssertThrowsError(
            try algo.forward(
                input: try Tensor([1, 4, 4, 3]), weights: try Tensor([3, 3, 2, 2]), bias: nil,
                output: try Tensor([1, 4, 4, 2])))
    }

    func testKerasPaddingRules() throws {
        // Even kernel, same padding: TensorFlow pads 0 on top/left and 1 on bottom/right.
        let g = try ConvGeometry.parse("N=1,H=28,W=28,C=1,K=1,R=2")
        XCTAssertEqual([g.p, g.q, g.padTop, g.padBottom], [28, 28, 0, 1])
        let s2 = try ConvGeometry.parse("N=1,H=7,W=7,C=1,K=1,R=3,stride=2")
        XCTAssertEqual([s2.p, s2.padTop, s2.padBottom], [4, 1, 1])
        let s2e = try ConvGeometry.parse("N=1,H=8,W=8,C=1,K=1,R=3,stride=2")
        XCTAssertEqual([s2e.p, s2e.padTop, s2e.padBottom], [4, 0, 1])
        let v = try ConvGeometry.parse("N=1,H=13,W=11,C=1,K=1,R=3,pad=valid")
        XCTAssertEqual([v.p, v.q], [11, 9])
    }

    func testCostFormulasByHand() throws {
        // basic-cnn's first layer on one image: 28x28x1 -> 32, 3x3 same.
        let g = try ConvGeometry.parse("N=1,H=28,W=28,C=1,K=32,R=3")
        let c = NaiveConv2D(geometry: g).cost(workers: 1)
        XCTAssertEqual(c.directFLOPs, 2 * 28 * 28 * 32 * 1 * 9)
        XCTAssertEqual(c.minimumTrafficBytes, Double(4 * (784 + 288 + 32 + 784 * 32)))
        // Winograd F(2,3) on 14x14x32->64: 49 tiles, 16 products per tile per (c,k).
        let w = try ConvGeometry.parse("N=1,H=14,W=14,C=32,K=64,R=3")
        let wc = try ConvAlgorithmKind.winogradF2.make(w).cost(workers: 1)
        XCTAssertEqual(
            wc.executedFLOPs - 49 * 32 * WinogradTransform.f2x3.inputFLOPsPerTileChannel
                - 49 * 64 * WinogradTransform.f2x3.outputFLOPsPerTileFilter, 2 * 16 * 49 * 32 * 64)
        XCTAssertLessThan(wc.executedFLOPs, wc.directFLOPs)
    }
}

/// Two plain threads, for tests (Kernels never see hwloc). concurrentPerform takes a
/// non-escaping closure and runs the iterations on two threads.
final class TwoThreadRunner: ParallelRunner {
    var width: Int { 2 }
    func run(_ body: (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: 2) { body($0) }
    }
}
