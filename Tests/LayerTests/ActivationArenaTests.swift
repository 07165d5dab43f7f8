import Kernels
import Tensor
import XCTest

@testable import Layers

/// Inference with shared activation buffers must give the very same outputs as one buffer per
/// layer, forward after forward (a reused buffer holds the previous forward's values).
final class ActivationArenaTests: XCTestCase {
    /// An inverted-residual graph as MobileNetV2 has (maps 30 pixels wide, so the blocks fuse):
    /// expand 1x1 + BN + ReLU6, depthwise 3x3 + BN + ReLU6, project 1x1 + BN, a residual add; a
    /// second block with zero padding and a stride-2 depthwise between plain ReLU6 and ReLU
    /// convolutions; pooling, dense. Both blocks run fused with shared buffers.
    func residualModel() throws -> Sequential {
        let relu6 = Activation.relu6
        var layers: [Layer] = []
        var inputs: [[Int]] = []
        func add(_ l: Layer, _ srcs: [Int]) { layers.append(l); inputs.append(srcs) }
        add(try Conv2DLayer(name: "stem", input: [6, 30, 3], filters: 8, kernel: 3, activation: .relu), [-1])
        add(try Conv2DLayer(name: "expand", input: [6, 30, 8], filters: 24, kernel: 1), [0])
        add(try BatchNormLayer(name: "expand_bn", input: [6, 30, 24]), [1])
        add(ActivationLayer(name: "expand_relu", input: [6, 30, 24], activation: relu6), [2])
        add(try DepthwiseConv2DLayer(name: "dw", input: [6, 30, 24], kernel: 3), [3])
        add(try BatchNormLayer(name: "dw_bn", input: [6, 30, 24]), [4])
        add(ActivationLayer(name: "dw_relu", input: [6, 30, 24], activation: relu6), [5])
        add(try Conv2DLayer(name: "project", input: [6, 30, 24], filters: 8, kernel: 1), [6])
        add(try BatchNormLayer(name: "project_bn", input: [6, 30, 8]), [7])
        add(try AddLayer(name: "add", input: [6, 30, 8]), [0, 8])
        add(try Conv2DLayer(name: "expand2", input: [6, 30, 8], filters: 20, kernel: 1, activation: .relu6), [9])
        add(try ZeroPadding2DLayer(name: "pad", input: [6, 30, 20], top: 0, bottom: 1, left: 0, right: 1), [10])
        add(try DepthwiseConv2DLayer(name: "dw2", input: [7, 31, 20], kernel: 3, stride: 2, padding: .valid), [11])
        add(try Conv2DLayer(name: "project2", input: [3, 15, 20], filters: 16, kernel: 1, activation: .relu), [12])
        add(try GlobalAveragePoolingLayer(name: "gap", input: [3, 15, 16]), [13])
        add(try DenseLayer(name: "dense", inputFeatures: 16, units: 5), [14])
        let model = try Sequential(name: "ir", inputShape: [6, 30, 3], layers: layers, inputs: inputs)
        var rng = SeededGenerator(seed: 11)
        for l in model.layers {
            for p in l.parameters { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
            if let bn = l as? BatchNormLayer {
                bn.movingVariance.value.fillUniform(&rng, low: 0.5, high: 1.5); bn.movingVariance.version += 1
            }
        }
        return model
    }

    func testSharedBuffersGiveTheSameOutputsForwardAfterForward() throws {
        let model = try residualModel()
        var rng = SeededGenerator(seed: 12)
        let plain = RunContext(runner: SerialRunner()), shared = RunContext(runner: SerialRunner())
        shared.reusesActivationMemory = true
        for batch in [2, 3, 2] {
            let x = try Tensor([batch, 6, 30, 3]); x.fillUniform(&rng)
            let want = model.forward(x, plain).array
            let got = model.forward(x, shared)
            XCTAssertEqual(got.array, want, "batch \(batch)")
            XCTAssertFalse(model.activationArena.holds(got), "the model's output lives outside the arena")
        }
        // Both blocks ran as one fused pass each, the plain path layer by layer.
        let byName = Dictionary(uniqueKeysWithValues: model.layers.map { ($0.name, $0) })
        for (expand, dw, project) in [("expand", "dw", "project"), ("expand2", "dw2", "project2")] {
            XCTAssertEqual((byName[dw] as? DepthwiseConv2DLayer)?.fusedInto, expand)
            XCTAssertEqual((byName[project] as? Conv2DLayer)?.fusedInto, expand)
            XCTAssertTrue((byName[expand] as? Conv2DLayer)?.lastForwardFusedBlock == true)
        }
        _ = model.forward(try Tensor([1, 6, 30, 3]), plain)
        XCTAssertNil((byName["dw"] as? DepthwiseConv2DLayer)?.fusedInto)
        // Fewer bytes than one buffer per layer: the outputs of the layers before the last.
        let perLayer = model.layers.dropLast().reduce(0) { $0 + $1.outputShape.reduce(3, *) * 4 }
        XCTAssertGreaterThan(model.activationArena.bytes, 0)
        XCTAssertLessThan(model.activationArena.bytes, perLayer / 2, "\(model.activationArena.bytes) of \(perLayer)")
    }

    /// A depthwise layer with a project layer after it and no expand layer before (MobileNetV2's
    /// first block) runs the pair as one pass: the same outputs as layer by layer.
    func testDepthwiseThenProjectRunsFused() throws {
        let wide = try Conv2DLayer(name: "c", input: [8, 60, 3], filters: 16, kernel: 3, stride: 2, activation: .relu6)
        let dw2 = try DepthwiseConv2DLayer(name: "dw", input: [4, 30, 16], kernel: 3)
        let bn2 = try BatchNormLayer(name: "dw_bn", input: [4, 30, 16])
        let act2 = ActivationLayer(name: "dw_relu", input: [4, 30, 16], activation: .relu6)
        let project2 = try Conv2DLayer(name: "p", input: [4, 30, 16], filters: 8, kernel: 1)
        let gap2 = try GlobalAveragePoolingLayer(name: "gap", input: [4, 30, 8])
        let model = Sequential(name: "first", inputShape: [8, 60, 3], layers: [wide, dw2, bn2, act2, project2, gap2])
        var rng = SeededGenerator(seed: 15)
        for l in model.layers {
            for p in l.parameters { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
        }
        bn2.movingVariance.value.fillUniform(&rng, low: 0.5, high: 1.5); bn2.movingVariance.version += 1
        let shared = RunContext(runner: SerialRunner()); shared.reusesActivationMemory = true
        let x = try Tensor([2, 8, 60, 3]); x.fillUniform(&rng)
        let want = model.forward(x, RunContext(runner: SerialRunner())).array
        XCTAssertEqual(model.forward(x, shared).array, want)
        XCTAssertTrue(dw2.lastForwardFusedBlock)
        XCTAssertEqual(project2.fusedInto, "dw")
    }

    func testTrainingAndThePlainPathDoNotTouchTheArena() throws {
        let model = try residualModel()
        var rng = SeededGenerator(seed: 13)
        let x = try Tensor([2, 6, 30, 3]); x.fillUniform(&rng)
        let c = RunContext(runner: SerialRunner(), training: true)
        c.reusesActivationMemory = true
        _ = model.forward(x, c)
        _ = model.forward(x, RunContext(runner: SerialRunner()))
        XCTAssertEqual(model.activationArena.bytes, 0)
    }

    /// A model whose last layer passes its input through (a folded activation) returns a tensor
    /// outside the arena, which the next forward's layers do not overwrite.
    func testAPassThroughLastLayerIsCopiedOut() throws {
        let conv = try Conv2DLayer(name: "c", input: [4, 4, 2], filters: 3, kernel: 1)
        let bn = try BatchNormLayer(name: "bn", input: [4, 4, 3])
        let act = ActivationLayer(name: "r", input: [4, 4, 3], activation: .relu)
        let model = Sequential(name: "m", inputShape: [4, 4, 2], layers: [conv, bn, act])
        var rng = SeededGenerator(seed: 14)
        for p in conv.parameters { p.value.fillUniform(&rng); p.version += 1 }
        let c = RunContext(runner: SerialRunner()); c.reusesActivationMemory = true
        let x1 = try Tensor([1, 4, 4, 2]), x2 = try Tensor([1, 4, 4, 2])
        x1.fillUniform(&rng); x2.fillUniform(&rng)
        for x in [x1, x2, x1] {
            let want = model.forward(x, RunContext(runner: SerialRunner())).array
            let y = model.forward(x, c)
            XCTAssertFalse(model.activationArena.holds(y))
            XCTAssertEqual(y.array, want)
        }
        XCTAssertGreaterThan(model.activationArena.bytes, 0)
    }
}
