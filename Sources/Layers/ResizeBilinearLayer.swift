import Tensor

// input NHWC (N,H,W,C) -> output NHWC (N,OH,OW,C), bilinear
/// Keras Resizing / tf.image.resize(method="bilinear") as TensorFlow 2 computes it: half-pixel
/// centres (source = (o + 0.5)·in/out − 0.5), neighbours clamped to the edge, no antialiasing.
/// Used to feed 28x28 or 32x32 images to ImageNet bases at 96..224.
public final class ResizeBilinearLayer: Layer {
    public let name: String
    public var kerasClass: String { "Resizing" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    /// Per output row / column: lower and upper source index and the weight of the upper one.
    private let rowTaps: [(Int, Int, Float)], colTaps: [(Int, Int, Float)]

    public init(name: String, input: [Int], height: Int, width: Int) throws {
        guard input.count == 3 else {
            throw TensorError.invalidDimension("\(name): Resizing needs an (H,W,C) input, got \(input)")
        }
        guard height >= 1, width >= 1, height <= 4096, width <= 4096 else {
            throw TensorError.invalidDimension(
                "\(name): output size must be between 1 and 4096, got \(height)x\(width)")
        }
        self.name = name
        inputShape = input
        outputShape = [height, width, input[2]]
        rowTaps = Self.taps(input: input[0], output: height)
        colTaps = Self.taps(input: input[1], output: width)
    }

    static func taps(input: Int, output: Int) -> [(Int, Int, Float)] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            let src = (Double(o) + 0.5) * scale - 0.5
            let f = src.rounded(.down)
            let lo = max(Int(f), 0), hi = min(Int(src.rounded(.up)), input - 1)
            return (lo, hi, Float(src - f))
        }
    }

    public func cost() -> LayerCost {
        let out = outputShape.reduce(1, *)
        return LayerCost(forwardFLOPs: Double(6 * out), forwardBytes: Self.bytes(inputShape.reduce(1, *) + out))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        let batch = x.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (OH, OW) = (outputShape[0], outputShape[1])
        let y = outputs.get(batch: batch, shape: outputShape)
        let rt = rowTaps, ct = colTaps
        ctx.runner.parallelRanges(batch * OH, work: batch * OH * OW * C * 6) { _, rows in
            for row in rows {
                let n = row / OH, (r0, r1, fy) = rt[row % OH]
                let top = x.data + (n * H + r0) * W * C, bottom = x.data + (n * H + r1) * W * C
                for ow in 0..<OW {
                    let (c0, c1, fx) = ct[ow]
                    let o = y.data + (row * OW + ow) * C
                    let a = top + c0 * C, b = top + c1 * C, c = bottom + c0 * C, d = bottom + c1 * C
                    for k in 0..<C {
                        let t: Float = a[k] + (b[k] - a[k]) * fx
                        let u: Float = c[k] + (d[k] - c[k]) * fx
                        o[k] = t + (u - t) * fy
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
        let (OH, OW) = (outputShape[0], outputShape[1])
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        let rt = rowTaps, ct = colTaps
        // Scatter; workers take whole images, so no two write one value.
        ctx.runner.parallelRanges(batch, work: batch * OH * OW * C * 8) { _, images in
            for n in images {
                let img = dx.data + n * H * W * C
                img.update(repeating: 0, count: H * W * C)
                for oh in 0..<OH {
                    let (r0, r1, fy) = rt[oh]
                    for ow in 0..<OW {
                        let (c0, c1, fx) = ct[ow]
                        let g = dy.data + ((n * OH + oh) * OW + ow) * C
                        let w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx
                        let a = img + (r0 * W + c0) * C, b = img + (r0 * W + c1) * C
                        let c = img + (r1 * W + c0) * C, d = img + (r1 * W + c1) * C
                        for k in 0..<C {
                            a[k] += g[k] * w00; b[k] += g[k] * w01; c[k] += g[k] * w10; d[k] += g[k] * w11
                        }
                    }
                }
            }
        }
        return dx
    }
}
