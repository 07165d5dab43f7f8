import CKernels
import Tensor

// input NHWC (N,H,W,C), weights [R·S·C, K], bias (K)
//   -> pooled NHWC (N,P/2,Q/2,K) = maxpool2x2(clamp(conv, 0, hi)), argmax bytes (N,P/2,Q/2,K)
// backward: dPooled (N,P/2,Q/2,K) routed through argmax -> dW [R·S·C, K], db (K)
/// A small-patch convolution, its ReLU and the 2x2 max pooling after it in one pass (the lab's
/// first blocks: Conv2D(relu) → MaxPooling2D). Each worker takes whole pooled rows: it computes
/// the two convolution rows under them into an L1-sized scratch buffer and pools from there, so
/// the full-size activation (and, in backward, its gradient) never goes through memory.
/// Results equal the unfused convolution then pooling (same arithmetic, same argmax rule: the
/// first maximum in row-major window order, no gradient where the maximum is ≤ 0).
public final class ConvReluMaxPool {
    public let geometry: ConvGeometry
    /// The kernels' build (AVX-512, AVX2 or the scalar reference) follows `options.isa`.
    public let options: ConvOptions
    private let scratch = Workspace()
    private let partials = Workspace()

    public init(geometry: ConvGeometry, options: ConvOptions = ConvOptions()) {
        self.geometry = geometry
        self.options = options
    }

    /// Whether the fused kernel takes this convolution: small patch (R·S·C ≤ 80, K a multiple
    /// of 8) and an even output (the pooling windows tile it).
    public static func supports(_ g: ConvGeometry, options: ConvOptions) -> Bool {
        var shape = g.cShape
        return Im2colConv2D.usesSmallPatch(g, options: options) && cnns_conv_small_patch_maxpool2_fits(&shape) != 0
    }

    public var pooledShape: [Int] { [geometry.p / 2, geometry.q / 2, geometry.k] }

    /// Pooled rows of a batch (the unit of work).
    func pooledRows(_ batch: Int) -> Int { batch * geometry.p / 2 }

    /// `variant` overrides the options' build (CNNS_SP_SCALAR: the plain C reference, CNNS_SP_W16:
    /// the AVX-512 code compiled for AVX2; tests compare them).
    public func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, clampHigh: Float, pooled: UnsafeMutablePointer<Float>,
        argmax: UnsafeMutablePointer<UInt8>, runner: ParallelRunner, variant: Int32? = nil
    ) {
        var shape = geometry.cShape
        let g = geometry
        scratch.reserve(workers: runner.width, floats: 2 * g.q * g.k)
        let rows = pooledRows(batch)
        runner.parallelRanges(rows, work: rows * 2 * g.q * g.k * g.r * g.s * g.c) { worker, range in
            cnns_conv_small_patch_maxpool2_forward(
                &shape, input, weights, bias, clampHigh, pooled, argmax,
                range.lowerBound, range.upperBound, scratch.buffer(worker), variant ?? options.smallPatchVariant)
        }
    }

    /// Overwrites dWeights and dBias (when given) from the pooled gradient and the argmax of the
    /// last forward. Workers keep private partials, summed at the end.
    public func backwardWeights(
        input: UnsafePointer<Float>, batch: Int, dPooled: UnsafePointer<Float>,
        argmax: UnsafePointer<UInt8>, dWeights: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, runner: ParallelRunner, variant: Int32? = nil
    ) {
        var shape = geometry.cShape
        let g = geometry
        let L = g.r * g.s * g.c, K = g.k
        let partial = L * K + K
        let workers = runner.width
        scratch.reserve(workers: workers, floats: cnns_conv_small_patch_maxpool2_scratch_floats(&shape))
        partials.reserve(workers: workers, floats: partial)
        for w in 0..<workers { partials.buffer(w).update(repeating: 0, count: partial) }
        let rows = pooledRows(batch)
        runner.parallelRanges(rows, work: rows * 2 * g.q * K * L) { worker, range in
            let buf = partials.buffer(worker)
            cnns_conv_small_patch_maxpool2_dweights(
                &shape, input, dPooled, argmax, buf, buf + L * K,
                range.lowerBound, range.upperBound, scratch.buffer(worker), variant ?? options.smallPatchVariant)
        }
        dWeights.update(from: partials.buffer(0), count: L * K)
        if let dBias { dBias.update(from: partials.buffer(0) + L * K, count: K) }
        for w in 1..<max(1, workers) {
            let p = partials.buffer(w)
            for i in 0..<(L * K) { dWeights[i] += p[i] }
            if let dBias { for k in 0..<K { dBias[k] += p[L * K + k] } }
        }
    }
}
