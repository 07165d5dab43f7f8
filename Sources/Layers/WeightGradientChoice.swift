import Kernels

/// The weight gradient a convolution layer's timing chose at one batch size: a Winograd kind (its
/// transform computes dW) or im2col (colᵀ·dy), with the median seconds of every algorithm it timed.
public struct WeightGradientChoice: Equatable, Sendable {
    public var kind: ConvAlgorithmKind
    /// Median seconds per algorithm (raw values), im2col's included.
    public var seconds: [String: Double]

    public init(kind: ConvAlgorithmKind, seconds: [String: Double]) {
        self.kind = kind
        self.seconds = seconds
    }

    /// Whether dW runs on a Winograd transform.
    public var winograd: Bool { kind.winogradTransform != nil }

    /// "Winograd F(4x4,3x3) 5.123 ms (im2col 6.000 ms, winograd-f2x3 7.000 ms)".
    public var text: String {
        let chosen = seconds[kind.rawValue].map { String(format: " %.3f ms", $0 * 1e3) } ?? ""
        let others = seconds.filter { $0.key != kind.rawValue }.sorted { $0.key < $1.key }
            .map { "\($0.key) " + String(format: "%.3f ms", $0.value * 1e3) }
        let name = kind.winogradTransform.map { "Winograd \($0.name)" } ?? "im2col"
        return name + chosen + (others.isEmpty ? "" : " (" + others.joined(separator: ", ") + ")")
    }
}
