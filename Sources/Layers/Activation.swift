import Tensor

#if canImport(Glibc)
    import Glibc
#endif

/// Keras activations. Applied in place to a layer's output; the derivative is written in
/// terms of the output y, so backward needs no copy of the pre-activation.
public enum Activation: String, Codable, CaseIterable, Sendable {
    case linear, relu, relu6, elu, leakyRelu = "leaky_relu", tanh, sigmoid, softmax

    /// The slope of keras.activations.leaky_relu (negative_slope 0.2), which the string
    /// activation "leaky_relu" uses.
    public static let leakySlope: Float = 0.2

    /// ReLU and ReLU6 as a clamp range a kernel can apply while its outputs are in cache
    /// (nil for the others, which need `apply`).
    public var clampRange: ClosedRange<Float>? {
        switch self {
        case .relu: return 0...Float.greatestFiniteMagnitude
        case .relu6: return 0...6
        default: return nil
        }
    }

    /// y = f(y) in place over `count` values (softmax over rows of `rowLength`).
    public func apply(_ y: UnsafeMutablePointer<Float>, count: Int, rowLength: Int) {
        switch self {
        case .linear: return
        case .relu: for i in 0..<count { y[i] = Swift.max(y[i], 0) }
        case .relu6: for i in 0..<count { y[i] = Swift.min(Swift.max(y[i], 0), 6) }
        case .elu: for i in 0..<count where y[i] < 0 { y[i] = expf(y[i]) - 1 }
        case .leakyRelu: for i in 0..<count where y[i] < 0 { y[i] *= Self.leakySlope }
        case .tanh: for i in 0..<count { y[i] = tanhf(y[i]) }
        case .sigmoid: for i in 0..<count { y[i] = 1 / (1 + expf(-y[i])) }
        case .softmax:
            let rows = count / rowLength
            for r in 0..<rows { Softmax.row(y + r * rowLength, rowLength) }
        }
    }

    /// dy *= f'(x), expressed through y = f(x). Softmax's Jacobian is applied per row.
    public func backward(y: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, count: Int, rowLength: Int) {
        switch self {
        case .linear: return
        case .relu: for i in 0..<count { dy[i] = y[i] > 0 ? dy[i] : 0 }
        case .relu6: for i in 0..<count { dy[i] = y[i] > 0 && y[i] < 6 ? dy[i] : 0 }
        case .elu: for i in 0..<count where y[i] < 0 { dy[i] *= y[i] + 1 }
        case .leakyRelu: for i in 0..<count where y[i] < 0 { dy[i] *= Self.leakySlope }
        case .tanh: for i in 0..<count { dy[i] *= 1 - y[i] * y[i] }
        case .sigmoid: for i in 0..<count { dy[i] *= y[i] * (1 - y[i]) }
        case .softmax:
            let rows = count / rowLength
            for r in 0..<rows {
                let yr = y + r * rowLength, dr = dy + r * rowLength
                var dot: Float = 0
                for j in 0..<rowLength { dot += yr[j] * dr[j] }
                for j in 0..<rowLength { dr[j] = yr[j] * (dr[j] - dot) }
            }
        }
    }
}

public enum Softmax {
    /// Numerically stable softmax of one row, in place.
    @inline(__always)
    public static func row(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for j in 0..<n { m = max(m, x[j]) }
        var s: Float = 0
        for j in 0..<n { x[j] = expf(x[j] - m); s += x[j] }
        let inv = 1 / s
        for j in 0..<n { x[j] *= inv }
    }
}
