import Kernels
import Tensor
import XCTest

@testable import Layers

/// A Conv2D layer on Winograd tells its algorithm, before each forward, whether the next layer
/// reads the output at once and nothing later (inference) or a backward will read it too
/// (training): only the first keeps a large output in the caches (`WinogradConv2D.outputReadNext`).
final class InferenceOutputStoresTests: XCTestCase {
    func testConvLayerMarksInferenceForwardsOnly() throws {
        let layer = try Conv2DLayer(
            name: "c", input: [12, 12, 8], filters: 16, kernel: 3, policy: .fixed(.winogradF4))
        let x = try Tensor([2, 12, 12, 8])
        var rng = SeededGenerator(seed: 3)
        x.fillUniform(&rng, low: -1, high: 1)
        let runner = SerialRunner()
        for training in [false, true, false] {
            let ctx = RunContext(runner: runner, training: training)
            _ = layer.forward(x, ctx)
            let algo = try XCTUnwrap(try layer.algorithm(batch: 2, runner: runner) as? WinogradConv2D)
            XCTAssertEqual(algo.outputReadNext, !training, "training \(training)")
        }
    }
}
