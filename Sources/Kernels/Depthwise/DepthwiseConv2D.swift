import CKernels
import Tensor

// input NHWC (N,H,W,C), kernel (R,S,C,1) as Keras (depth multiplier 1), bias (C) -> output NHWC (N,P,Q,C)
/// Keras DepthwiseConv2D, direct: each channel is convolved with its own R×S filter. The inner
/// loop runs over channels, which NHWC keeps contiguous, so it vectorises; workers split
/// output rows (forward), input rows (dX, a gather, so no two workers write one value) and
/// batch images (dW, per-worker partial sums reduced at the end).
/// Cost per image: 2·P·Q·C·R·S FLOPs over P·Q·C·(R·S) loads; intensity ≈ R·S/4 FLOP/byte at
/// best, far below any machine's ridge point: the layer is memory-bound (its roofline point
/// says so).
public final class DepthwiseConv2D {
    /// A zero padding in front of the convolution that the kernel reads as part of its own:
    /// the input is the `height` x `width` map before padding, with `top` rows and `left` columns
    /// of zeros implied before it (those below and to the right follow from the output size).
    public struct AbsorbedPadding: Equatable, Sendable {
        public var top: Int, left: Int, height: Int, width: Int
        public init(top: Int, left: Int, height: Int, width: Int) {
            self.top = top; self.left = left; self.height = height; self.width = width
        }
    }

    /// The convolution's shape; `k` equals `c` (one output channel per input channel).
    public let geometry: ConvGeometry

    public init(geometry: ConvGeometry) throws {
        guard geometry.k == geometry.c else {
            throw ConvError.invalidShape(
                """
                depthwise convolution needs as many outputs as input channels (depth multiplier 1), got \
                \(geometry.c) -> \(geometry.k)
                """
            )
        }
        self.geometry = geometry
    }

    /// FLOPs (multiply-adds ×2) of a forward of `g` for `batch` images.
    public static func flops(_ g: ConvGeometry, batch: Int) -> Double {
        2 * Double(batch * g.p * g.q * g.c * g.r * g.s)
    }

    /// Minimum traffic of a forward of `g`: input and output once, weights and bias once.
    public static func minimumBytes(_ g: ConvGeometry, batch: Int) -> Double {
        4 * Double(batch * (g.h * g.w * g.c + g.p * g.q * g.c) + g.r * g.s * g.c + g.c)
    }

    /// The instruction set the forward kernel runs under `options` for this shape: "avx512",
    /// "avx2" (8 lanes; a CPU without AVX2 or fewer than 8 channels runs the reference) or "scalar".
    public func kernelISA(_ options: ConvOptions) -> String {
        var shape = geometry.cShape
        guard options.avx2Kernels, cnns_depthwise_vector_fits(&shape) != 0 else { return "scalar" }
        return options.avx512Kernels ? "avx512" : "avx2"
    }

    /// The C kernel for an ISA name from `kernelISA`.
    typealias Kernel =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
            Int32, Float, Float, UnsafeMutablePointer<Float>?, Int, Int
        ) -> Void
    static func kernel(isa: String) -> Kernel {
        switch isa {
        case "avx512": return cnns_depthwise_forward_avx512
        case "avx2": return cnns_depthwise_forward_avx2
        default: return cnns_depthwise_forward_scalar
        }
    }

    /// `absorbing`: the input is the map before a zero padding (see `AbsorbedPadding`).
    /// `clamp`: an activation applied as a clamp to each output pixel while it is in cache
    /// (ReLU: 0...max, ReLU6: 0...6; the folded inference path). `options`: which kernel runs
    /// (`kernelISA`); `isa: "scalar"` runs the plain C reference.
    public func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        clamp: ClosedRange<Float>? = nil, options: ConvOptions, absorbing padding: AbsorbedPadding? = nil
    ) {
        let g = geometry
        var shape = g.cShape
        if let padding {
            // The input is the map before the zero padding: the kernel's bounds checks read the
            // padded border as zeros, with the padding's rows and columns added to its own.
            shape.h = Int32(padding.height); shape.w = Int32(padding.width)
            shape.pad_top += Int32(padding.top); shape.pad_left += Int32(padding.left)
        }
        let (lo, hi) = (clamp?.lowerBound ?? 0, clamp?.upperBound ?? 0)
        let clamps: Int32 = clamp != nil ? 1 : 0
        let kernel = Self.kernel(isa: kernelISA(options))
        runner.parallelRanges(batch * g.p, work: batch * g.p * g.q * g.c * g.r * g.s) { _, rows in
            kernel(&shape, input, weights, bias, clamps, lo, hi, output, rows.lowerBound, rows.upperBound)
        }
    }

    /// From dL/dy: overwrites dWeights and dBias (when given), and dInput (when given).
    public func backward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dWeights: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        dInput: UnsafeMutablePointer<Float>?, runner: ParallelRunner
    ) {
        let g = geometry
        let (H, W, C, P, Q, R, S) = (g.h, g.w, g.c, g.p, g.q, g.r, g.s)
        let (sh, sw, pt, pl) = (g.strideH, g.strideW, g.padTop, g.padLeft)
        let work = batch * P * Q * C * R * S
        if dWeights != nil || dBias != nil {
            let per = R * S * C + C
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: per * runner.width)
            partial.initialize(repeating: 0, count: per * runner.width)
            defer { partial.deallocate() }
            var used = Array(repeating: false, count: runner.width)
            used.withUnsafeMutableBufferPointer { usedFlags in
                runner.parallelRanges(batch, work: work) { worker, images in
                    usedFlags[worker] = true
                    let dw = partial + worker * per, db = dw + R * S * C
                    for n in images {
                        for p in 0..<P {
                            for q in 0..<Q {
                                let d = dy + ((n * P + p) * Q + q) * C
                                for c in 0..<C { db[c] += d[c] }
                                for r in 0..<R {
                                    let ih = p * sh + r - pt
                                    if ih < 0 || ih >= H { continue }
                                    for s in 0..<S {
                                        let iw = q * sw + s - pl
                                        if iw < 0 || iw >= W { continue }
                                        let x = input + ((n * H + ih) * W + iw) * C
                                        let k = dw + (r * S + s) * C
                                        for c in 0..<C { k[c] += x[c] * d[c] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if let dWeights { dWeights.update(repeating: 0, count: R * S * C) }
            if let dBias { dBias.update(repeating: 0, count: C) }
            for wk in 0..<runner.width where used[wk] {
                let src = partial + wk * per
                if let dWeights { for i in 0..<(R * S * C) { dWeights[i] += src[i] } }
                if let dBias { for c in 0..<C { dBias[c] += src[R * S * C + c] } }
            }
        }
        guard let dInput else { return }
        // dX[n,ih,iw,c] = Σ_{r,s: (ih+pt−r) = p·sh, (iw+pl−s) = q·sw} dy[n,p,q,c]·W[r,s,c]
        runner.parallelRanges(batch * H, work: work) { _, rows in
            for row in rows {
                let n = row / H, ih = row % H
                for iw in 0..<W {
                    let o = dInput + ((n * H + ih) * W + iw) * C
                    o.update(repeating: 0, count: C)
                    for r in 0..<R {
                        let ph = ih + pt - r
                        if ph < 0 || ph % sh != 0 { continue }
                        let p = ph / sh
                        if p >= P { continue }
                        for s in 0..<S {
                            let qw = iw + pl - s
                            if qw < 0 || qw % sw != 0 { continue }
                            let q = qw / sw
                            if q >= Q { continue }
                            let d = dy + ((n * P + p) * Q + q) * C
                            let k = weights + (r * S + s) * C
                            for c in 0..<C { o[c] += d[c] * k[c] }
                        }
                    }
                }
            }
        }
    }
}
