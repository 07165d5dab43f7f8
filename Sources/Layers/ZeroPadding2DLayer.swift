import Tensor

// input NHWC (N,H,W,C) -> output NHWC (N, H+top+bottom, W+left+right, C), zeros around
/// Keras ZeroPadding2D (((top, bottom), (left, right))), as MobileNetV2 uses before its
/// stride-2 convolutions.
public final class ZeroPadding2DLayer: FoldableIntoConvolution {
    public let name: String
    public var kerasClass: String { "ZeroPadding2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let top: Int, bottom: Int, left: Int, right: Int
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    /// Set by Sequential: the depthwise convolution that reads this padding as its own at
    /// inference; the layer then passes its input through.
    public var foldedInto: String?
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()

    public init(name: String, input: [Int], top: Int, bottom: Int, left: Int, right: Int) throws {
        guard input.count == 3 else {
            throw TensorError.invalidDimension("\(name): ZeroPadding2D needs an (H,W,C) input, got \(input)")
        }
        guard [top, bottom, left, right].allSatisfy({ $0 >= 0 && $0 <= 64 }) else {
            throw TensorError.invalidDimension(
                "\(name): padding must be between 0 and 64, got ((\(top), \(bottom)), (\(left), \(right)))")
        }
        self.name = name
        inputShape = input
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
        outputShape = [input[0] + top + bottom, input[1] + left + right, input[2]]
    }

    public func cost() -> LayerCost {
        LayerCost(forwardFLOPs: 0, forwardBytes: Self.bytes(inputShape.reduce(1, *) + outputShape.reduce(1, *)))
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        if !ctx.training && foldedInto != nil { return x }
        let batch = x.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (OH, OW) = (outputShape[0], outputShape[1])
        let y = outputs.get(batch: batch, shape: outputShape)
        let (t, l) = (top, left)
        ctx.runner.parallelRanges(batch * OH, work: batch * OH * OW * C) { _, rows in
            for row in rows {
                let n = row / OH, oh = row % OH
                let dst = y.data + row * OW * C
                let ih = oh - t
                guard ih >= 0 && ih < H else { dst.update(repeating: 0, count: OW * C); continue }
                dst.update(repeating: 0, count: l * C)
                (dst + l * C).update(from: x.data + (n * H + ih) * W * C, count: W * C)
                (dst + (l + W) * C).update(repeating: 0, count: (OW - l - W) * C)
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
        for n in 0..<batch {
            for ih in 0..<H {
                (dx.data + (n * H + ih) * W * C).update(
                    from: dy.data + ((n * OH + ih + top) * OW + left) * C, count: W * C)
            }
        }
        return dx
    }
}
