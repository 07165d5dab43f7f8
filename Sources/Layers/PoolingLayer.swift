import Kernels
import Tensor

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
    /// Set by Sequential when the layer before is a ReLU-activated layer that skips its own
    /// activation backward: the routed gradient is then dropped where the max is 0 (ReLU' = 0).
    public var appliesReluGradient = false
    /// The convolution this pooling ran inside at the last forward (`Conv2DLayer.fusedMaxPool`):
    /// its input was already pooled, so forward and backward pass through.
    public private(set) var fusedInto: String?
    private var pendingFusedFrom: String?
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var lastInput: Tensor?
    private var argmaxes: [Int: UnsafeMutablePointer<UInt8>] = [:]
    /// The kernel switches: `isa` avx512 runs the 16-lane window kernels (max pooling).
    public var options = ConvOptions()

    deinit { for p in argmaxes.values { p.deallocate() } }

    private func argmaxBuffer(batch: Int, count: Int) -> UnsafeMutablePointer<UInt8> {
        if let p = argmaxes[batch] { return p }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        argmaxes[batch] = p
        return p
    }

    public init(name: String, input: [Int], pool: Int, type: PoolType) throws {
        guard input.count == 3 else {
            throw TensorError.invalidDimension("\(name): pooling needs an (H,W,C) input, got \(input)")
        }
        guard type == .avg || pool <= MaxPoolArgmax.maxWindow else {
            throw TensorError.invalidDimension(
                "\(name): max pooling windows go up to 15x15 (the argmax is kept as a byte), got \(pool)x\(pool)")
        }
        guard pool >= 1, input[0] / pool >= 1, input[1] / pool >= 1 else {
            throw TensorError.invalidDimension(
                "\(name): pool \(pool)x\(pool) shrinks the \(input[0])x\(input[1]) map below 1x1")
        }
        self.name = name
        self.type = type
        self.pool = pool
        inputShape = input
        outputShape = [input[0] / pool, input[1] / pool, input[2]]
    }

    public func cost() -> LayerCost {
        let out = outputShape.reduce(1, *)
        return LayerCost(
            forwardFLOPs: Double(out * pool * pool),
            forwardBytes: Self.bytes(inputShape.reduce(1, *) + out))
    }

    /// Called by the fused convolution just before this layer's forward: the next input is
    /// already pooled. Consumed by that one forward.
    public func receivePooledInput(from conv: String) { pendingFusedFrom = conv }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        fusedInto = pendingFusedFrom
        pendingFusedFrom = nil
        if fusedInto != nil { return x }
        let batch = x.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let y = outputs.get(batch: batch, shape: outputShape)
        let k = pool
        let isMax = type == .max
        let inv = 1 / Float(k * k)
        let xp = UnsafePointer(x.data), yp = y.data
        lastInput = x
        if isMax {
            let am = argmaxBuffer(batch: batch, count: y.count)
            let relu = appliesReluGradient, wide = options.avx512Kernels
            ctx.runner.parallelRanges(batch * P, work: batch * P * Q * C * k * k) { _, rows in
                for row in rows {
                    let n = row / P, p = row % P
                    let o = (n * P + p) * Q * C
                    MaxPoolArgmax.forward(
                        windows: Q, from: xp + (n * H + p * k) * W * C, rowStride: W * C, k: k,
                        channels: C, y: yp + o, argmax: am + o, relu: relu, wide: wide)
                }
            }
            return y
        }
        ctx.runner.parallelRanges(batch * P, work: batch * P * Q * C * k * k) { _, rows in
            for row in rows {
                let n = row / P, p = row % P
                for q in 0..<Q {
                    let o = yp + ((n * P + p) * Q + q) * C
                    let base = xp + ((n * H + p * k) * W + q * k) * C
                    o.update(from: base, count: C)
                    for i in 0..<k {
                        for j in 0..<k where i + j > 0 {
                            let src = base + (i * W + j) * C
                            for c in 0..<C { o[c] += src[c] }
                        }
                    }
                    for c in 0..<C { o[c] *= inv }
                }
            }
        }
        return y
    }

    /// Max pooling routes each output's gradient to the first input of its window that equals
    /// the maximum (the argmax forward kept: backward reads a byte per output instead of the
    /// input and output tensors).
    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        if fusedInto != nil { return needsInputGradient ? dy : nil }
        guard needsInputGradient, lastInput != nil else { return nil }
        let batch = dy.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let k = pool
        let isMax = type == .max
        let inv = 1 / Float(k * k)
        let dyp = UnsafePointer(dy.data), dxp = dx.data
        let covers = H % k == 0 && W % k == 0
        let am: UnsafePointer<UInt8>? =
            isMax ? UnsafePointer(argmaxBuffer(batch: batch, count: batch * P * Q * C)) : nil
        let wide = options.avx512Kernels
        ctx.runner.parallelRanges(batch, work: batch * H * W * C) { _, images in
            for n in images {
                let img = dxp + n * H * W * C
                // Windows tile the image exactly when k divides H and W: every element is then
                // written below, so the zero fill is only needed for the leftover rows/columns.
                if !covers || !isMax { img.update(repeating: 0, count: H * W * C) }
                for p in 0..<P {
                    if isMax {  // a row of Q windows per call, k·C floats apart in dx
                        let o = (n * P + p) * Q * C
                        MaxPoolArgmax.route(
                            windows: Q, argmax: am! + o, gradient: dyp + o, into: img + p * k * W * C,
                            rowStride: W * C, k: k, channels: C, wide: wide)
                        continue
                    }
                    for q in 0..<Q {
                        let o = ((n * P + p) * Q + q) * C
                        let g = dyp + o
                        for i in 0..<k {
                            for j in 0..<k {
                                let d = img + ((p * k + i) * W + q * k + j) * C
                                for c in 0..<C { d[c] += g[c] * inv }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
