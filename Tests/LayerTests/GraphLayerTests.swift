import Kernels
import Tensor
import XCTest

@testable import Layers

/// Gradient checks for MobileNetV2's layers and for a residual graph as a whole.
extension GradientCheckTests {
    func testDepthwiseConv2D() throws {
        try check(try DepthwiseConv2DLayer(name: "dw", input: [6, 5, 3], kernel: 3, padding: .same, activation: .tanh))
        try check(
            try DepthwiseConv2DLayer(
                name: "dw", input: [7, 7, 4], kernel: 3, stride: 2, padding: .valid, useBias: false))
        try check(try DepthwiseConv2DLayer(name: "dw", input: [6, 6, 2], kernel: 3, stride: 2, padding: .same))
    }

    func testBiasFreeConvolution() throws {
        let c = try Conv2DLayer(name: "c", input: [5, 5, 3], filters: 4, kernel: 1, useBias: false)
        XCTAssertEqual(c.parameters.map(\.name), ["kernel"])
        try check(c)
    }

    func testPaddingResizeAndAdapters() throws {
        try check(try ZeroPadding2DLayer(name: "z", input: [4, 5, 2], top: 0, bottom: 1, left: 1, right: 2))
        try check(try ResizeBilinearLayer(name: "r", input: [4, 5, 2], height: 9, width: 7))
        try check(try ResizeBilinearLayer(name: "r", input: [8, 8, 2], height: 3, width: 5))
        try check(try RepeatChannelsLayer(name: "g", input: [4, 4, 1]))
        try check(RescalingLayer(name: "s", input: [3, 3, 2], scale: 2, offset: -1))
    }

    /// tf.image.resize(bilinear) with half-pixel centres: upsampling 2x2 -> 4x4 by hand.
    func testResizeMatchesTensorFlowHalfPixelCentres() throws {
        let l = try ResizeBilinearLayer(name: "r", input: [2, 2, 1], height: 4, width: 4)
        let x = try Tensor(shape: TensorShape([1, 2, 2, 1]), values: [0, 1, 2, 3])
        let y = l.forward(x, ctx)
        // Row 0 samples source row -0.25 (clamped to row 0); column weights 0, 0.25, 0.75, 1.
        XCTAssertEqual(Array(y.array[0..<4]), [0, 0.25, 0.75, 1])
        XCTAssertEqual(Array(y.array[4..<8]), [0.5, 0.75, 1.25, 1.5])
    }

    /// input -> conv -> depthwise(relu6) -> add(input branch conv) -> GAP -> dense: every
    /// parameter's gradient through the whole graph, with a fan-out, by finite differences.
    func testResidualGraphGradients() throws {
        let conv = try Conv2DLayer(name: "conv", input: [5, 5, 2], filters: 3, kernel: 3, activation: .tanh)
        let dw = try DepthwiseConv2DLayer(name: "dw", input: [5, 5, 3], kernel: 3, padding: .same)
        let bn = try BatchNormLayer(name: "bn", input: [5, 5, 3])
        let add = try AddLayer(name: "add", input: [5, 5, 3])
        let gap = try GlobalAveragePoolingLayer(name: "gap", input: [5, 5, 3])
        let dense = try DenseLayer(name: "dense", inputFeatures: 3, units: 4)
        let model = try Sequential(
            name: "g", inputShape: [5, 5, 2], layers: [conv, dw, bn, add, gap, dense],
            inputs: [[-1], [0], [1], [0, 2], [3], [4]])
        XCTAssertFalse(model.isChain)
        var rng = SeededGenerator(seed: 4)
        for l in model.layers {
            for p in l.parameters where p.trainable { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
        }
        let x = try Tensor([3, 5, 5, 2]); x.fillUniform(&rng)
        let c = RunContext(runner: SerialRunner(), training: true, seed: 1)
        let y = model.forward(x, c)
        let r = (0..<y.count).map { _ in rng.nextFloat(low: -1, high: 1) }
        let dy = try Tensor([3, 4]); for i in 0..<dy.count { dy.data[i] = r[i] }
        model.backward(dy, c)
        checkParameterGradients(model, x: x, r: r, c: c, perParameter: 10)
    }

    /// Every trainable parameter's gradient (the last backward's) against central differences of
    /// the loss, at `perParameter` spread-out entries each.
    func checkParameterGradients(_ model: Sequential, x: Tensor, r: [Float], c: RunContext, perParameter: Int) {
        let snapshot = model.layers.flatMap { $0.parameters.filter(\.trainable).map { ($0, $0.grad.copy()) } }
        let h: Float = 1e-2
        for (p, g) in snapshot {
            for k in 0..<min(perParameter, p.value.count) {
                let i = (k * 7919) % p.value.count
                let old = p.value.data[i]
                p.value.data[i] = old + h; p.version += 1
                let lp = loss(model.forward(x, c), r)
                p.value.data[i] = old - h; p.version += 1
                let lm = loss(model.forward(x, c), r)
                p.value.data[i] = old; p.version += 1
                let n = (lp - lm) / (2 * Double(h)), a = Double(g.data[i])
                XCTAssertLessThanOrEqual(
                    abs(a - n), 2e-2 * max(abs(a), abs(n)) + 2e-3, "\(p.name)[\(i)]: analytic \(a) vs numeric \(n)")
            }
        }
    }

    /// input -> two convolution branches (2 and 3 channels) -> Concatenate -> GAP -> dense: the
    /// forward puts each branch's channels in order, and every gradient matches finite differences.
    func testConcatenateForwardAndGradients() throws {
        let a = try Conv2DLayer(name: "a", input: [4, 4, 2], filters: 2, kernel: 1, activation: .tanh)
        let b = try Conv2DLayer(name: "b", input: [4, 4, 2], filters: 3, kernel: 3, padding: .same, activation: .tanh)
        let cat = try ConcatenateLayer(name: "cat", inputs: [[4, 4, 2], [4, 4, 3]])
        XCTAssertEqual(cat.outputShape, [4, 4, 5])
        XCTAssertThrowsError(try ConcatenateLayer(name: "bad", inputs: [[4, 4, 2], [2, 2, 3]]))
        let gap = try GlobalAveragePoolingLayer(name: "gap", input: [4, 4, 5])
        let dense = try DenseLayer(name: "dense", inputFeatures: 5, units: 3)
        let model = try Sequential(
            name: "inception", inputShape: [4, 4, 2], layers: [a, b, cat, gap, dense],
            inputs: [[-1], [-1], [0, 1], [2], [3]])
        var rng = SeededGenerator(seed: 9)
        for l in model.layers {
            for p in l.parameters where p.trainable { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
        }
        let x = try Tensor([2, 4, 4, 2]); x.fillUniform(&rng)
        let c = RunContext(runner: SerialRunner(), training: true, seed: 1)
        let y = model.forward(x, c)
        // The concatenation itself: channel 0-1 from a, 2-4 from b, at every pixel.
        let ya = a.forward(x, c).array, yb = b.forward(x, c).array
        let yc = cat.forward(inputs: [a.forward(x, c), b.forward(x, c)], c).array
        for p in 0..<(2 * 16) {
            XCTAssertEqual(Array(yc[(p * 5)..<(p * 5 + 2)]), Array(ya[(p * 2)..<(p * 2 + 2)]))
            XCTAssertEqual(Array(yc[(p * 5 + 2)..<(p * 5 + 5)]), Array(yb[(p * 3)..<(p * 3 + 3)]))
        }
        let r = (0..<y.count).map { _ in rng.nextFloat(low: -1, high: 1) }
        let dy = try Tensor([2, 3]); for i in 0..<dy.count { dy.data[i] = r[i] }
        _ = model.forward(x, c)
        model.backward(dy, c)
        checkParameterGradients(model, x: x, r: r, c: c, perParameter: 8)
    }

    func testGraphRejectsBadWiring() throws {
        let a = try Conv2DLayer(name: "a", input: [4, 4, 2], filters: 3, kernel: 3)
        let add = try AddLayer(name: "add", input: [4, 4, 3])
        XCTAssertThrowsError(
            try Sequential(name: "m", inputShape: [4, 4, 2], layers: [a, add], inputs: [[-1], [-1, 0]])
        ) {
            XCTAssertTrue("\($0)".contains("expects input [4, 4, 3]"), "\($0)")
        }
        XCTAssertThrowsError(
            try Sequential(name: "m", inputShape: [4, 4, 2], layers: [a, add], inputs: [[1], [0, 0]]))
    }

    /// A frozen layer below the trained ones is never visited by backward.
    func testFrozenLayersAreSkipped() throws {
        let c1 = try Conv2DLayer(name: "c1", input: [4, 4, 1], filters: 2, kernel: 3)
        let c2 = try Conv2DLayer(name: "c2", input: [4, 4, 2], filters: 2, kernel: 3)
        let f = FlattenLayer(name: "f", input: [4, 4, 2])
        let d = try DenseLayer(name: "d", inputFeatures: 32, units: 3)
        let m = Sequential(name: "m", inputShape: [4, 4, 1], layers: [c1, c2, f, d])
        c1.trainable = false; c2.trainable = false
        let needs = m.updateGradientFlow()
        XCTAssertEqual(needs, [false, false, false, true])
        XCTAssertFalse(d.needsInputGradient)
        c2.trainable = true
        XCTAssertEqual(m.updateGradientFlow(), [false, true, true, true])
        XCTAssertFalse(c2.needsInputGradient)
        XCTAssertTrue(d.needsInputGradient)
    }
}
