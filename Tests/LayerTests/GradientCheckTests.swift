import Kernels
import Tensor
import XCTest

@testable import Layers

/// Finite-difference gradient checks: L = Σ y·r for a fixed random r, central differences
/// with the loss accumulated in Double, compared with each layer's backward.
final class GradientCheckTests: XCTestCase {
    let ctx = RunContext(runner: SerialRunner(), training: true, seed: 5)

    func loss(_ y: Tensor, _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(r[i]) }
        return s
    }

    /// Checks dL/dx (when the layer produces it) and dL/dparam for up to `samples` entries each.
    func check(
        _ layer: Layer, batch: Int = 2, h: Float = 1e-2, samples: Int = 40, seed: UInt64 = 1,
        input: ((Tensor) -> Void)? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var rng = SeededGenerator(seed: seed)
        let x = try Tensor([batch] + layer.inputShape)
        x.fillUniform(&rng, low: -1, high: 1)
        input?(x)
        for p in layer.parameters where p.trainable { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
        ctx.training = true
        let y0 = layer.forward(x, ctx)
        let r = (0..<y0.count).map { _ in rng.nextFloat(low: -1, high: 1) }
        let dy = try Tensor([batch] + layer.outputShape)
        for i in 0..<dy.count { dy.data[i] = r[i] }
        layer.needsInputGradient = true
        let dx = layer.backward(dy, ctx)?.copy()
        let grads = layer.parameters.map { $0.grad.copy() }

        func numeric(_ t: Tensor, _ i: Int, bump: () -> Void) -> Double {
            let old = t.data[i]
            t.data[i] = old + h; bump()
            let lp = loss(layer.forward(x, ctx), r)
            t.data[i] = old - h; bump()
            let lm = loss(layer.forward(x, ctx), r)
            t.data[i] = old; bump()
            return (lp - lm) / (2 * Double(h))
        }
        func compare(_ a: Double, _ n: Double, _ what: String) {
            let tol = 2e-2 * max(abs(a), abs(n)) + 2e-3
            XCTAssertLessThanOrEqual(
                abs(a - n), tol, "\(layer.kerasClass) \(what): analytic \(a) vs numeric \(n)", file: file, line: line)
        }
        if let dx {
            for k in 0..<min(samples, x.count) {
                let i = (k * 7919) % x.count
                compare(Double(dx.data[i]), numeric(x, i) {}, "dx[\(i)]")
            }
        }
        for (p, g) in zip(layer.parameters, grads) where p.trainable {
            for k in 0..<min(samples, p.value.count) {
                let i = (k * 7919) % p.value.count
                compare(Double(g.data[i]), numeric(p.value, i) { p.version += 1 }, "\(p.name)[\(i)]")
            }
        }
    }

    func testConv2DAllAlgorithmsAndActivations() throws {
        for kind in ConvAlgorithmKind.allCases {
            let l = try Conv2DLayer(
                name: "c", input: [6, 5, 3], filters: 4, kernel: 3, activation: .tanh, policy: .fixed(kind))
            try check(l)
        }
        try check(
            try Conv2DLayer(
                name: "c", input: [7, 7, 2], filters: 3, kernel: 2, stride: 2, padding: .valid, activation: .sigmoid))
        try check(try Conv2DLayer(name: "c", input: [5, 5, 4], filters: 3, kernel: 1, activation: .elu))
        try check(try Conv2DLayer(name: "c", input: [6, 6, 2], filters: 2, kernel: 5, activation: .linear))
    }

    func testDense() throws {
        try check(try DenseLayer(name: "d", inputFeatures: 7, units: 5, activation: .tanh))
        try check(try DenseLayer(name: "d", inputFeatures: 4, units: 6, activation: .softmax))
    }

    func testPooling() throws {
        // Distinct values spaced 0.05 apart, so h = 1e-3 never changes which element is the max.
        let distinct: (Tensor) -> Void = { t in
            var rng = SeededGenerator(seed: 9)
            var v = (0..<t.count).map { Float($0) * 0.05 - 2 }
            for i in stride(from: v.count - 1, to: 0, by: -1) { v.swapAt(i, rng.nextInt(i + 1)) }
            for i in 0..<t.count { t.data[i] = v[i] }
        }
        try check(try PoolingLayer(name: "p", input: [4, 6, 3], pool: 2, type: .max), h: 1e-3, input: distinct)
        try check(try PoolingLayer(name: "p", input: [5, 5, 2], pool: 2, type: .max), h: 1e-3, input: distinct)
        try check(try PoolingLayer(name: "p", input: [4, 6, 3], pool: 2, type: .avg))
        try check(try PoolingLayer(name: "p", input: [6, 6, 9], pool: 3, type: .max), h: 1e-3, input: distinct)
    }

    func testBatchNormTrainingAndInference() throws {
        let bn = try BatchNormLayer(name: "bn", input: [3, 3, 4])
        try check(bn, batch: 3, h: 1e-2)
        // Inference mode: uses moving statistics (constants).
        let ctxInf = RunContext(runner: SerialRunner(), training: false)
        let x = try Tensor([2, 3, 3, 4])
        var rng = SeededGenerator(seed: 2)
        x.fillUniform(&rng)
        let y = bn.forward(x, ctxInf)
        let s = bn.gamma.value.data[0] / (bn.movingVariance.value.data[0] + bn.epsilon).squareRoot()
        XCTAssertEqual(y.data[0], (x.data[0] - bn.movingMean.value.data[0]) * s + bn.beta.value.data[0], accuracy: 1e-5)
    }

    func testActivations() throws {
        // Inputs kept away from ReLU's kink at 0.
        let away: (Tensor) -> Void = { t in for i in 0..<t.count { t.data[i] += t.data[i] >= 0 ? 0.1 : -0.1 } }
        for a in Activation.allCases {
            try check(ActivationLayer(name: "a", input: [3, 4], activation: a), input: away)
        }
    }

    func testGlobalAveragePoolingAndFlatten() throws {
        try check(try GlobalAveragePoolingLayer(name: "g", input: [3, 4, 5]))
        try check(FlattenLayer(name: "f", input: [2, 3, 4]))
    }

    func testDropoutIsInvertedAndSeeded() throws {
        let d = try DropoutLayer(name: "d", input: [1000], rate: 0.5)
        let x = try Tensor([1, 1000])
        x.fill(1)
        let c1 = RunContext(runner: SerialRunner(), training: true, seed: 3)
        let y = d.forward(x, c1).copy()
        let kept = (0..<1000).filter { y.data[$0] != 0 }
        XCTAssertTrue(kept.allSatisfy { y.data[$0] == 2 })
        XCTAssertGreaterThan(kept.count, 400)
        XCTAssertLessThan(kept.count, 600)
        let c2 = RunContext(runner: SerialRunner(), training: true, seed: 3)
        XCTAssertTrue(d.forward(x, c2).array == y.array, "same seed, same mask")
        let dy = try Tensor([1, 1000]); dy.fill(1)
        let dx = d.backward(dy, c2)!
        XCTAssertTrue(dx.array == y.array, "gradient uses the forward's mask and scale")
        let inf = RunContext(runner: SerialRunner(), training: false)
        XCTAssertTrue(d.forward(x, inf).array == x.array, "inference passes through")
    }

    func testSoftmaxCrossEntropyGradientAndStability() throws {
        let z = try Tensor([2, 3])
        let vals: [Float] = [1000, 0, -1000, 0.5, 0.25, -0.5]
        for i in 0..<6 { z.data[i] = vals[i] }
        let labels: [Int32] = [0, 2]
        let g = try Tensor([2, 3])
        let (loss, correct) = labels.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.evaluate(logits: z, labels: $0.baseAddress!, grad: g)
        }
        XCTAssertTrue(loss.isFinite)
        XCTAssertEqual(correct, 1)
        // Second row by hand.
        let e = [0.5, 0.25, -0.5].map { exp($0) }
        let s = e.reduce(0, +)
        XCTAssertEqual(loss, (0 + (-log(e[2] / s))) / 2, accuracy: 1e-5)
        XCTAssertEqual(Double(g.data[5]), (e[2] / s - 1) / 2, accuracy: 1e-6)
    }

    func testFusedReluMaxPoolGradientEqualsUnfused() throws {
        func grads(fused: Bool) throws -> [Float] {
            let conv = try Conv2DLayer(name: "c", input: [8, 8, 2], filters: 4, kernel: 3, activation: .relu)
            let pool = try PoolingLayer(name: "p", input: conv.outputShape, pool: 2, type: .max)
            let m = Sequential(name: "m", inputShape: [8, 8, 2], layers: [conv, pool])
            m.fuseReluIntoMaxPool(fused)
            var rng = SeededGenerator(seed: 4)
            conv.kernel.value.fillUniform(&rng)
            let x = try Tensor([2, 8, 8, 2]); x.fillUniform(&rng)
            let y = m.forward(x, ctx)
            let dy = try Tensor(y.shape.dims); dy.fillUniform(&rng)
            m.backward(dy, ctx)
            return conv.kernel.grad.array + conv.bias.grad.array
        }
        XCTAssertEqual(try grads(fused: true), try grads(fused: false))
    }

    /// Conv2D(relu) + 2x2 max pooling as one kernel (first layers: short receptive field, K a
    /// multiple of 8) against the two layers run separately: the same pooled outputs, the same
    /// weight and bias gradients (to summation order) and, where a layer below trains, the same
    /// input gradient. Three shapes: grey 28x28, RGB 32x32 with stride 1, a 5x5 kernel, each
    /// behind a trainable layer once so the fused backward must also give dX.
    func testConvolutionWithMaxPoolKernelEqualsLayerByLayer() throws {
        for (i, shape) in [(h: 12, c: 1, k: 8, r: 3), (h: 10, c: 3, k: 16, r: 3), (h: 8, c: 1, k: 24, r: 5)]
            .enumerated()
        {
            for behindTrainable in [false, true] {
                func run(fused: Bool) throws -> (out: [Float], grads: [Float], dx: [Float], wasFused: Bool) {
                    var layers: [Layer] = []
                    let input = [shape.h, shape.h, shape.c]
                    if behindTrainable { layers.append(try ScaleLayer(name: "s", shape: input)) }
                    let conv = try Conv2DLayer(
                        name: "c", input: input, filters: shape.k, kernel: shape.r, activation: .relu)
                    let pool = try PoolingLayer(name: "p", input: conv.outputShape, pool: 2, type: .max)
                    let m = Sequential(name: "m", inputShape: input, layers: layers + [conv, pool])
                    m.fuseReluIntoMaxPool(fused)
                    var rng = SeededGenerator(seed: UInt64(40 + i))
                    conv.kernel.value.fillUniform(&rng, low: -0.5, high: 0.5)
                    conv.bias.value.fillUniform(&rng, low: -0.1, high: 0.1)
                    let x = try Tensor([3] + input); x.fillUniform(&rng)
                    let c2 = RunContext(runner: TwoWorkers(), training: true)
                    let y = m.forward(x, c2)
                    let out = y.array
                    let dy = try Tensor(y.shape.dims); dy.fillUniform(&rng)
                    m.backward(dy, c2)
                    let dx = behindTrainable ? (layers[0] as! ScaleLayer).lastInputGradient : []
                    return (out, conv.kernel.grad.array + conv.bias.grad.array, dx, conv.lastForwardFused)
                }
                let a = try run(fused: true), b = try run(fused: false)
                let what = "shape \(shape), behind a trainable layer: \(behindTrainable)"
                XCTAssertTrue(a.wasFused, "\(what): the fused kernel should run")
                XCTAssertFalse(b.wasFused)
                XCTAssertEqual(a.out, b.out, "\(what): pooled outputs")
                XCTAssertEqual(a.grads.count, b.grads.count)
                for (u, v) in zip(a.grads, b.grads) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v)), what) }
                XCTAssertEqual(a.dx.count, b.dx.count)
                for (u, v) in zip(a.dx, b.dx) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v)), what) }
            }
        }
    }
}

/// Two workers on plain threads (the fused kernel splits pooled rows between them).
final class TwoWorkers: ParallelRunner {
    var width: Int { 2 }
    func run(_ body: (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: 2) { body($0) }
    }
}

/// A trainable elementwise scale (y = a·x) placed below a convolution so that the convolution
/// must return dX; keeps the dX it receives.
final class ScaleLayer: Layer {
    let name: String
    var kerasClass: String { "Scale" }
    let inputShape: [Int], outputShape: [Int]
    var needsInputGradient = true
    var trainable = true
    let scale = Parameter(name: "scale", shape: try! TensorShape([1]))
    var parameters: [Parameter] { [scale] }
    private(set) var lastInputGradient: [Float] = []
    private var lastX: Tensor?
    init(name: String, shape: [Int]) throws {
        self.name = name; inputShape = shape; outputShape = shape
        scale.value.data[0] = 1.5
    }
    func cost() -> LayerCost { LayerCost(forwardFLOPs: 0, forwardBytes: 0) }
    func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        lastX = x
        let y = try! Tensor(x.shape.dims)
        for i in 0..<x.count { y.data[i] = x.data[i] * scale.value.data[0] }
        return y
    }
    func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        lastInputGradient = dy.array
        var g: Float = 0
        for i in 0..<dy.count { g += dy.data[i] * lastX!.data[i] }
        scale.grad.data[0] = g
        return nil
    }
}
