import Foundation
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
}
