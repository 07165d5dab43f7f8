import Tensor

// input NHWC (N,H,W,C), weights HWIO (R,S,C,K), bias (K) -> output NHWC (N,P,Q,K)
/// The direct seven nested loops, in plain Swift (no hand vectorisation): the baseline of
/// every comparison. Padded taps are skipped. Threads split the output rows (n, p).
public final class NaiveConv2D: ConvolutionAlgorithm {
    public let geometry: ConvGeometry
    public var kind: ConvAlgorithmKind { .naive }
    public var outputClamp: ClosedRange<Float>?
    /// Plain Swift loops (whatever the compiler vectorises on the build's baseline ISA).
    public var kernelISA: String { "scalar" }

    public init(geometry: ConvGeometry) { self.geometry = geometry }

    public func cost(workers: Int) -> ConvCost {
        let d = ConvCost.direct(geometry)
        let m = ConvCost.minimumTraffic(geometry)
        return ConvCost(
            directFLOPs: d, executedFLOPs: d, oncePerWeightsFLOPs: 0, workspaceBytes: 0,
            minimumTrafficBytes: m, algorithmTrafficBytes: m)
    }

    public func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>, weightsVersion: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner, observer: ConvStageObserver?
    ) {
        let g = geometry
        let (H, W, C, K, R, S, P, Q) = (g.h, g.w, g.c, g.k, g.r, g.s, g.p, g.q)
        runner.parallelRanges(batch * P) { worker, rows in
            observer?.stageBegan(.direct, worker: worker)
            for row in rows {
                let n = row / P, p = row % P
                for q in 0..<Q {
                    for k in 0..<K {
                        var acc: Float = bias?[k] ?? 0
                        for r in 0..<R {
                            let ih = p * g.strideH - g.padTop + r
                            if ih < 0 || ih >= H { continue }
                            for s in 0..<S {
                                let iw = q * g.strideW - g.padLeft + s
                                if iw < 0 || iw >= W { continue }
                                for c in 0..<C {
                                    acc +=
                                        input[((n * H + ih) * W + iw) * C + c] * weights[((r * S + s) * C + c) * K + k]
                                }
                            }
                        }
                        if let c = outputClamp { acc = Swift.min(Swift.max(acc, c.lowerBound), c.upperBound) }
                        output[((n * P + p) * Q + q) * K + k] = acc
                    }
                }
            }
            observer?.stageEnded(.direct, worker: worker)
        }
    }
}
