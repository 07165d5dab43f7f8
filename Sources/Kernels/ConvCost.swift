/// What one forward convolution costs, by formula (modelled). Counters and timers check
/// these numbers; they never feed them.
public struct ConvCost: Codable, Equatable, Sendable {
    /// 2·N·P·Q·K·C·R·S: the multiply-adds of the direct definition.
    public var directFLOPs: Double
    /// What the algorithm really executes: direct for naive/im2col; for Winograd the
    /// transform-domain products plus the input and output transforms.
    public var executedFLOPs: Double
    /// Filter transform FLOPs (Winograd), paid once per weight update, not per forward.
    public var oncePerWeightsFLOPs: Double
    /// Scratch memory the algorithm holds (column buffers, transformed tensors).
    public var workspaceBytes: Double
    /// Input and weights read once, output written once: (N·H·W·C + R·S·C·K + K + N·P·Q·K)·4.
    public var minimumTrafficBytes: Double
    /// Minimum traffic plus the algorithm's own (column buffer written and read; transformed
    /// tensors written and read), assuming the workspace does not stay in cache.
    public var algorithmTrafficBytes: Double

    public static func direct(_ g: ConvGeometry) -> Double {
        let a: Double = 2 * Double(g.n) * Double(g.p) * Double(g.q)
        let b: Double = Double(g.k) * Double(g.c) * Double(g.r) * Double(g.s)
        return a * b
    }

    public static func minimumTraffic(_ g: ConvGeometry) -> Double {
        let inp = Double(g.n * g.h * g.w * g.c)
        let wts = Double(g.r * g.s * g.c * g.k + g.k)
        let out = Double(g.n * g.p * g.q * g.k)
        return 4 * (inp + wts + out)
    }
}
