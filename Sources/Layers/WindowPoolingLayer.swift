import Tensor

// input NHWC (N,H,W,C) -> output NHWC (N,P,Q,C)
//   P = (H + top + bottom − KH) / SH + 1,  Q = (W + left + right − KW) / SW + 1
//   max: y = max over the window's in-bounds taps (padding never wins)
//   avg: y = sum / (taps in bounds), or / (KH·KW) when padding counts (ONNX count_include_pad)
/// Pooling with any window, stride and padding, as ONNX's MaxPool and AveragePool (and PyTorch's
/// nn.MaxPool2d(3, 2, 1) in ResNets) define it. `PoolingLayer` is the fast Keras case (stride =
/// window, no padding); the ONNX importer uses this one only when a model needs more.
public final class WindowPoolingLayer: Layer {
    public let name: String
    public let type: PoolType
    public var kerasClass: String { type == .max ? "MaxPooling2D" : "AveragePooling2D" }
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// Window (height, width), strides (height, width), padding (top, bottom, left, right).
    public let window: (Int, Int), strides: (Int, Int), pads: (Int, Int, Int, Int)
    /// Average pooling divides by the whole window, padding included.
    public let countIncludesPadding: Bool
    public var needsInputGradient = true
    public var trainable = true
    public var parameters: [Parameter] { [] }
    private let outputs = BufferCache()
    private let inputGrads = BufferCache()
    private var lastInput: Tensor?

    public init(
        name: String, input: [Int], type: PoolType, window: (Int, Int), strides: (Int, Int),
        pads: (Int, Int, Int, Int) = (0, 0, 0, 0), countIncludesPadding: Bool = false
    ) throws {
        guard input.count == 3 else {
            throw TensorError.invalidDimension("\(name): pooling needs an (H,W,C) input, got \(input)")
        }
        guard window.0 >= 1, window.1 >= 1, strides.0 >= 1, strides.1 >= 1 else {
            throw TensorError.invalidDimension("\(name): window and strides must be positive")
        }
        guard [pads.0, pads.1, pads.2, pads.3].allSatisfy({ $0 >= 0 }), pads.0 < window.0, pads.1 < window.0,
            pads.2 < window.1, pads.3 < window.1
        else {
            throw TensorError.invalidDimension("\(name): padding must be non-negative and smaller than the window")
        }
        let h = input[0] + pads.0 + pads.1, w = input[1] + pads.2 + pads.3
        guard h >= window.0, w >= window.1 else {
            throw TensorError.invalidDimension(
                "\(name): a \(window.0)x\(window.1) window does not fit the padded \(h)x\(w) map")
        }
        self.name = name
        self.type = type
        self.window = window
        self.strides = strides
        self.pads = pads
        self.countIncludesPadding = countIncludesPadding
        inputShape = input
        outputShape = [(h - window.0) / strides.0 + 1, (w - window.1) / strides.1 + 1, input[2]]
    }

    public func cost() -> LayerCost {
        let out = outputShape.reduce(1, *)
        return LayerCost(
            forwardFLOPs: Double(out * window.0 * window.1),
            forwardBytes: Self.bytes(inputShape.reduce(1, *) + out))
    }

    /// The input rows (or columns) a window starting at `o·stride − pad` covers, clipped to the map.
    @inline(__always)
    private static func span(_ o: Int, stride: Int, pad: Int, size: Int, extent: Int) -> Range<Int> {
        let start = o * stride - pad
        return max(start, 0)..<min(start + size, extent)
    }

    public func forward(_ x: Tensor, _ ctx: RunContext) -> Tensor {
        lastInput = x
        let batch = x.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let y = outputs.get(batch: batch, shape: outputShape)
        let isMax = type == .max
        let whole = Float(window.0 * window.1)
        ctx.runner.parallelRanges(batch * P, work: batch * P * Q * C * window.0 * window.1) { _, rows in
            for row in rows {
                let n = row / P, p = row % P
                let hs = Self.span(p, stride: self.strides.0, pad: self.pads.0, size: self.window.0, extent: H)
                for q in 0..<Q {
                    let ws = Self.span(q, stride: self.strides.1, pad: self.pads.2, size: self.window.1, extent: W)
                    let dst = y.data + (row * Q + q) * C
                    dst.update(repeating: isMax ? -Float.infinity : 0, count: C)
                    for ih in hs {
                        for iw in ws {
                            let src = x.data + ((n * H + ih) * W + iw) * C
                            if isMax {
                                for c in 0..<C where src[c] > dst[c] { dst[c] = src[c] }
                            } else {
                                for c in 0..<C { dst[c] += src[c] }
                            }
                        }
                    }
                    if !isMax {
                        let scale = 1 / (self.countIncludesPadding ? whole : Float(hs.count * ws.count))
                        for c in 0..<C { dst[c] *= scale }
                    }
                }
            }
        }
        return y
    }

    /// Max routes each output's gradient to the first tap that holds the maximum; average
    /// spreads it evenly over the taps it divided by.
    public func backward(_ dy: Tensor, _ ctx: RunContext) -> Tensor? {
        guard needsInputGradient, let x = lastInput else { return nil }
        let batch = dy.shape[0]
        let (H, W, C) = (inputShape[0], inputShape[1], inputShape[2])
        let (P, Q) = (outputShape[0], outputShape[1])
        let dx = inputGrads.get(batch: batch, shape: inputShape)
        dx.fill(0)
        let whole = Float(window.0 * window.1)
        for n in 0..<batch {
            for p in 0..<P {
                let hs = Self.span(p, stride: strides.0, pad: pads.0, size: window.0, extent: H)
                for q in 0..<Q {
                    let ws = Self.span(q, stride: strides.1, pad: pads.2, size: window.1, extent: W)
                    let g = dy.data + ((n * P + p) * Q + q) * C
                    for c in 0..<C {
                        if type == .max {
                            var best = -Float.infinity, at = 0
                            for ih in hs {
                                for iw in ws {
                                    let i = ((n * H + ih) * W + iw) * C + c
                                    if x.data[i] > best { best = x.data[i]; at = i }
                                }
                            }
                            dx.data[at] += g[c]
                        } else {
                            let share = g[c] / (countIncludesPadding ? whole : Float(hs.count * ws.count))
                            for ih in hs { for iw in ws { dx.data[((n * H + ih) * W + iw) * C + c] += share } }
                        }
                    }
                }
            }
        }
        return dx
    }
}
