import Tensor
import Kernels

/// Max or average.
public enum PoolType: String, Codable, CaseIterable, Sendable { case max, avg }

// input NHWC (N,H,W,C) -> output NHWC (N,P,Q,C); window pool×pool, stride = pool, valid (Keras default)
/// Keras MaxPooling2D / AveragePooling2D with the default strides (the pool size) and
/// valid padding. Max pooling keeps the argmax of each window for backward.
public final class PoolingLayer: Layer {
    public let name: String
    public let type: PoolType
    public var kerasClass: String { type == .max ? "MaxPooling2D" : "AveragePooling2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let pool: Int
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var argmax: [Int32] = []
    private var lastBatch = 0

    public init(name: String, input: [Int], pool: Int, type: PoolType) throws {
        guard input.count == 3 else { throw TensorError.invalidDimension("\(name): pooling needs an (H,W,C) input, got \(input)") }
        guard pool >= 1, input[0] / pool >= 1, input[1] / pool >= 1 else {
            throw TensorError.invalidDimension("\(name): pool \(pool)x\(pool) shrinks the \(input[0])x\(input[1]) map below 1x1")
        }
        self.name = name
        self.type = type
        self.pool = pool
        inputShape = input
        outputShape = [input[0] / pool, input[1] / pool, input[2]]
    }

    public func cost() -> LayerCost {
        let out = outputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(out * pool * pool),
                         forwardBytes: Self.bytes(inputShape.reduce(1, *) + out))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let y = outputs.get(batch: batch, shape: outputShape)
        let k = pool
        let isMax = type == .max
        if isMax && argmax.count < y.count { argmax = [Int32](repeating: 0, count: y.count) }
        lastBatch = batch
        let inv = 1 / Float(k * k)
        argmax.withUnsafeMutableBufferPointer { am in
            let amp = am.baseAddress
            ctx.runner.parallelRanges(batch * P) { _, rows in
                for row in rows {
                    let n = row / P, p = row % P
                    for q in 0..<Q {
                        let o = ((n * P + p) * Q + q) * C
                        let base = ((n * H + p * k) * W + q * k) * C
                        if isMax {
                            for c in 0..<C { y.data[o + c] = -.infinity }
                            for i in 0..<k {
                                for j in 0..<k {
                                    let off = base + (i * W + j) * C
                                    for c in 0..<C where x.data[off + c] > y.data[o + c] {
                                        y.data[o + c] = x.data[off + c]
                                        amp![o + c] = Int32(off + c - n * H * W * C)
                                    }
                                }
                            }
                        } else {
                            for c in 0..<C { y.data[o + c] = 0 }
                            for i in 0..<k {
                                for j in 0..<k {
                                    let off = base + (i * W + j) * C
                                    for c in 0..<C { y.data[o + c] += x.data[off + c] }
                                }
                            }
                            for c in 0..<C { y.data[o + c] *= inv }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient else { return nil }
        let batch = dy.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let k = pool
        let isMax = type == .max
        let inv = 1 / Float(k * k)
        argmax.withUnsafeBufferPointer { am in
            ctx.runner.parallelRanges(batch) { _, images in
                for n in images {
                    let img = dx.data + n * H * W * C
                    img.update(repeating: 0, count: H * W * C)
                    for p in 0..<P {
                        for q in 0..<Q {
                            let o = ((n * P + p) * Q + q) * C
                            if isMax {
                                for c in 0..<C { img[Int(am[o + c])] += dy.data[o + c] }
                            } else {
                                for i in 0..<k {
                                    for j in 0..<k {
                                        let d = img + ((p * k + i) * W + q * k + j) * C
                                        for c in 0..<C { d[c] += dy.data[o + c] * inv }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
