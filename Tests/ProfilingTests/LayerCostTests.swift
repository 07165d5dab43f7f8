import Foundation
import Hardware
import Kernels
import Layers
import Profiling
import Tensor
import Training
import XCTest

/// The cost model the reports use, checked by hand (a library test: no executable involved).
final class LayerCostTests: XCTestCase {
    /// basic-cnn, one image: FLOPs and minimum bytes of each layer by hand.
    func testBasicCNNFormulasByHand() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let p = try ModelProfile.load(named: "basic-cnn", in: dir.appendingPathComponent("Profiles/models"))
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        func c(_ i: Int) -> (Double, Double) {
            let x = RunAssembler.costs(m.layers[i], phase: .forward, batch: 1, workers: 1, runner: SerialRunner())
            return (x.direct, x.minBytes)
        }
        let expected: [(Int, Double, Double)] = [
            (0, 2.0 * 28 * 28 * 32 * 9, 4.0 * (784 + 288 + 32 + 25_088)),  // conv2d
            (1, 14.0 * 14 * 32 * 4, 4.0 * (25_088 + 6_272)),  // max_pooling2d
            (2, 2.0 * 14 * 14 * 64 * 288, 4.0 * (6_272 + 18_432 + 64 + 12_544)),  // conv2d_1
            (5, 2.0 * 3136 * 128 + 128, 4.0 * (3136 + 401_408 + 128 + 128)),  // dense
            (7, 2.0 * 128 * 10 + 10, 4.0 * (128 + 1_280 + 10 + 10)),  // dense_1
        ]
        for (i, flops, bytes) in expected {
            let got = c(i)
            XCTAssertEqual(got.0, flops, "FLOPs of \(m.layers[i].name)")
            XCTAssertEqual(got.1, bytes, "bytes of \(m.layers[i].name)")
        }
        // A batch reads the weights once: 64 images of dense cost 64·(in + out)·4 + weights.
        let d64 = RunAssembler.costs(m.layers[5], phase: .forward, batch: 64, workers: 1, runner: SerialRunner())
        XCTAssertEqual(d64.minBytes, 4 * (64 * (3136 + 128) + 401_408 + 128))
    }

    /// Under its fused 2x2 max pooling, large-filters' int8 first layer runs on column quads (AVX2),
    /// says so, and reports the pooled pass's costs.
    func testFusedInt8FirstLayerOfLargeFiltersSaysColumnQuads() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let p = try ModelProfile.load(named: "large-filters", in: dir.appendingPathComponent("Profiles/models"))
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        let conv = try XCTUnwrap(m.layers[0] as? Conv2DLayer), pool = try XCTUnwrap(m.layers[1] as? PoolingLayer)
        let layer = Int8Layer(quantizing: conv, input: ActivationQuantization(min: -1, max: 1), isa: "avx2")
        layer.fusedMaxPool = pool
        XCTAssertTrue(layer.runsFusedPool)
        XCTAssertTrue(layer.kernel.columnQuads)
        let got = RunAssembler.costs(layer, phase: .forward, batch: 8, workers: 2, runner: SerialRunner())
        XCTAssertEqual(got.conv, "int8 \(layer.kernel.kernelName) on column quads + max pool (fused)")
        XCTAssertEqual(got.executed, layer.kernel.cost(batch: 8, workers: 2, pooled: true).executedFLOPs)
        XCTAssertEqual(got.workspace, layer.kernel.cost(batch: 8, workers: 2, pooled: true).workspaceBytes)
    }

    /// An int8 convolution reports its own path's costs (executed operations, workspace, label), not
    /// the float layer's.
    func testInt8LayerReportsItsPathsCosts() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let p = try ModelProfile.load(named: "basic-cnn", in: dir.appendingPathComponent("Profiles/models"))
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        let conv = try XCTUnwrap(m.layers[2] as? Conv2DLayer)
        let q = ActivationQuantization(min: -1, max: 1)
        // The 8-bit domain needs VNNI (elsewhere it runs the exact 16-bit kernel, named " winograd").
        let paths: [Int8Conv2D.Path] = [.direct, .lowered, .winograd] + (Blas.haveAVX512VNNI ? [.winogradU8] : [])
        for path in paths {
            let layer = Int8Layer(quantizing: conv, input: q, path: path)
            let got = RunAssembler.costs(layer, phase: .forward, batch: 8, workers: 2, runner: SerialRunner())
            let want = layer.kernel.cost(batch: 8, workers: 2)
            XCTAssertEqual(got.direct, 8 * 2.0 * 14 * 14 * 64 * 288, "\(path)")
            XCTAssertEqual(got.executed, want.executedFLOPs, "\(path)")
            XCTAssertEqual(got.workspace, want.workspaceBytes, "\(path)")
            XCTAssertEqual(got.conv, "int8 \(layer.kernel.kernelName)")
            XCTAssertTrue(got.conv?.hasSuffix(path.rawValue) ?? false, "\(got.conv ?? "nil") for \(path)")
        }
    }

    /// A training step's direct-equivalent FLOPs: forward, the weight gradient of each layer that
    /// trains, the input gradient of each layer that passes one down (not the first layer's).
    func testTrainingStepFLOPsAndRate() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let p = try ModelProfile.load(named: "basic-cnn", in: dir.appendingPathComponent("Profiles/models"))
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        XCTAssertEqual(
            m.layers.map(\.name),
            ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dropout", "dense_1"])
        let f = m.layers.map { $0.cost().forwardFLOPs }
        // conv2d: forward + dW; pools, flatten, dropout: forward + dX; conv2d_1, dense, dense_1: all three.
        let multipliers: [Double] = [2, 2, 3, 2, 2, 3, 2, 3]
        XCTAssertEqual(TrainingStepRate.flopsPerImage(m), zip(multipliers, f).map { $0 * $1 }.reduce(0, +))
        // Frozen conv2d_1 still passes a gradient down to conv2d, but computes no dW.
        m.layers[2].trainable = false
        m.updateGradientFlow()
        let frozen: [Double] = [2, 2, 2, 2, 2, 3, 2, 3]
        XCTAssertEqual(TrainingStepRate.flopsPerImage(m), zip(frozen, f).map { $0 * $1 }.reduce(0, +))
        // The rate takes the median epoch; the fraction is against the peak for the threads used.
        let epochs = [100.0, 300, 200].enumerated().map {
            EpochRecord(
                epoch: $0.offset + 1, loss: 1, accuracy: 0.5, valLoss: nil, valAccuracy: nil, seconds: 1,
                imagesPerSecond: $0.element)
        }
        let rate = try XCTUnwrap(TrainingStepRate.measured(model: m, history: epochs, fmaPeakGFLOPs: 50))
        XCTAssertEqual(rate.gflopsPerSecond, TrainingStepRate.flopsPerImage(m) * 200 / 1e9, accuracy: 1e-12)
        XCTAssertEqual(rate.fractionOfPeak ?? 0, rate.gflopsPerSecond / 50, accuracy: 1e-12)
        XCTAssertTrue(rate.text.contains("of the 50.0 GFLOP/s FMA peak"), rate.text)
        XCTAssertNil(rate.besideText)
        // Peaks measured around the epochs: each epoch against the mean of the two around it.
        let around = [40.0, 60, 20, 60]
        let beside = try XCTUnwrap(
            TrainingStepRate.measured(model: m, history: epochs, fmaPeakGFLOPs: 50, besidePeaks: around))
        let perImage = TrainingStepRate.flopsPerImage(m) / 1e9
        let fractions = [perImage * 100 / 50, perImage * 300 / 40, perImage * 200 / 40]
        XCTAssertEqual(beside.fractionOfBesidePeak ?? 0, fractions[2], accuracy: 1e-12)
        XCTAssertEqual(beside.fractionOfBesidePeakMin ?? 0, fractions[0], accuracy: 1e-12)
        XCTAssertEqual(beside.fractionOfBesidePeakMax ?? 0, fractions[1], accuracy: 1e-12)
        XCTAssertEqual(beside.fractionOfPeak, rate.fractionOfPeak)
        XCTAssertTrue(beside.besideText?.contains("of 50.0 GFLOP/s (median)") ?? false, beside.besideText ?? "nil")
        // A probe list that does not bracket every epoch is not used.
        let short = try XCTUnwrap(
            TrainingStepRate.measured(model: m, history: epochs, fmaPeakGFLOPs: 50, besidePeaks: [40, 60]))
        XCTAssertNil(short.fractionOfBesidePeak)
        let unknown = try XCTUnwrap(TrainingStepRate.measured(model: m, history: epochs, fmaPeakGFLOPs: nil))
        XCTAssertNil(unknown.fractionOfPeak)
        XCTAssertTrue(unknown.text.contains("cnnscope machine --measure"), unknown.text)
        XCTAssertNil(TrainingStepRate.measured(model: m, history: [], fmaPeakGFLOPs: 50))
        let peak = ComputePeak(perThreadGFLOPs: 90, allThreadsGFLOPs: 170, threads: 2, kernel: "avx2-fma", trials: 5)
        XCTAssertEqual(TrainingStepRate.peak(peak, threads: 2), 170)
        XCTAssertEqual(TrainingStepRate.peak(peak, threads: 1), 90)
    }
}
