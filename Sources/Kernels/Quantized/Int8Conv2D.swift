import CKernels
import Tensor

/// How a float activation maps to 7-bit unsigned integers: q = clamp(round(x/scale) + zeroPoint, 0, 127).
/// Seven bits keep vpmaddubsw's pair sums (2·127·127) below 2^15: no saturation.
public struct ActivationQuantization: Codable, Equatable, Sendable {
    public var scale: Float
    public var zeroPoint: Int32

    /// From the range seen in calibration (0 is always representable exactly).
    public init(min lo: Float, max hi: Float) {
        let lo = Swift.min(lo, 0), hi = Swift.max(hi, 0)
        let range = Swift.max(hi - lo, 1e-8)
        scale = range / 127
        zeroPoint = Int32((-lo / scale).rounded())
    }

    /// Quantises `count` values (round half to even, clamped to 0...127): `cnns_quantize_u7`
    /// (AVX2) or, with `vector` false, its plain reference; both give the same bytes.
    @inline(__always)
    func quantize(_ x: UnsafePointer<Float>, _ count: Int, into q: UnsafeMutablePointer<UInt8>, vector: Bool = true) {
        if vector {
            cnns_quantize_u7(x, count, 1 / scale, Float(zeroPoint), q)
        } else {
            cnns_quantize_u7_scalar(x, count, 1 / scale, Float(zeroPoint), q)
        }
    }
}

// input NHWC (N,H,W,C) float -> u7 columns [rows, R·S·C rounded up to 4] · int8 weights [R·S·C, K]
// -> int32 -> output NHWC (N,P,Q,K) float = (acc − zp·Σw)·sx·sw[k] + bias[k]
/// Post-training int8 convolution (and dense layers, as 1x1 convolutions of a 1x1 image):
/// weights quantised symmetrically per output channel (scale = max|w|/127), activations per
/// tensor to 7 bits with a zero point from calibration. The input is quantised while it is
/// lowered; the int8 GEMM is `cnns_qgemm_u7s8` (AVX2 vpmaddubsw/vpmaddwd, int32 sums) or its
/// 16-lane variants (AVX-512 VNNI vpdpbusd, or AVX-512BW), chosen by `gemmISA`.
/// Costs: the same multiply-adds as float, a quarter of the weight bytes.
public final class Int8Conv2D {
    public let geometry: ConvGeometry
    public let input: ActivationQuantization
    /// Per output channel.
    public let weightScales: [Float]
    let packed: UnsafeMutablePointer<Int8>
    /// Epilogue per output channel: y = Float(acc)·multiplier[k] + offset[k], where
    /// multiplier = sx·sw[k] and offset = bias[k] − zp·Σw[k]·multiplier (the zero point's share).
    let multiplier: UnsafeMutablePointer<Float>
    let offset: UnsafeMutablePointer<Float>
    private var quantizedInput: UnsafeMutablePointer<UInt8>?
    private var quantizedCapacity = 0
    /// The patch length R·S·C rounded up to 4 (the kernel reads whole groups of 4).
    let paddedLength: Int
    private let workspace = Workspace()
    public let rowsPerChunk = 256
    /// The int8 GEMM this layer runs: "avx512-vnni" (vpdpbusd), "avx512" (vpmaddubsw on zmm),
    /// "avx2" (on ymm) or "scalar", the widest the ISA cap and the CPU allow.
    public let gemmISA: String

    /// `weights` HWIO (R,S,C,K) = row-major [R·S·C, K]; `isa` caps the int8 GEMM's instruction set.
    public init(
        geometry: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        input: ActivationQuantization, isa: String = ConvOptions.bestISA
    ) {
        self.geometry = geometry
        self.input = input
        gemmISA = Self.gemmISA(cap: isa)
        let L = geometry.r * geometry.s * geometry.c, K = geometry.k
        paddedLength = (L + 3) / 4 * 4
        var scales = [Float](repeating: 0, count: K)
        for k in 0..<K {
            var m: Float = 0
            for i in 0..<L { m = Swift.max(m, abs(weights[i * K + k])) }
            scales[k] = m > 0 ? m / 127 : 1
        }
        var q = [Int8](repeating: 0, count: L * K)
        var sums = [Int32](repeating: 0, count: K)
        for i in 0..<L {
            for k in 0..<K {
                let v = Int8(Swift.max(-127, Swift.min(127, (weights[i * K + k] / scales[k]).rounded())))
                q[i * K + k] = v
                sums[k] += Int32(v)
            }
        }
        let size = Int(cnns_qgemm_packed_size(Int32(K), Int32(L)))
        let pk = UnsafeMutablePointer<Int8>.allocate(capacity: size)
        q.withUnsafeBufferPointer { cnns_qgemm_pack_b(Int32(K), Int32(L), $0.baseAddress, Int32(K), pk) }
        packed = pk
        weightScales = scales
        multiplier = .allocate(capacity: K)
        offset = .allocate(capacity: K)
        for k in 0..<K {
            multiplier[k] = input.scale * scales[k]
            offset[k] = (bias?[k] ?? 0) - Float(input.zeroPoint) * Float(sums[k]) * multiplier[k]
        }
    }

    /// The int8 GEMM for an ISA cap on this CPU.
    public static func gemmISA(cap: String) -> String {
        if cap == "avx512" && Blas.haveAVX512 { return Blas.haveAVX512VNNI ? "avx512-vnni" : "avx512" }
        if cap != "scalar" && Blas.haveSmallGemm { return "avx2" }
        return "scalar"
    }

    /// The C kernel for `gemmISA` (the AVX2 one falls back to scalar C without AVX2).
    static func gemmKernel(_ isa: String)
        -> @convention(c) (
            Int32, Int32, Int32, UnsafePointer<UInt8>?, Int32, UnsafePointer<Int8>?, UnsafeMutablePointer<Int32>?, Int32
        ) -> Void
    {
        switch isa {
        case "avx512-vnni": return cnns_qgemm_u7s8_avx512vnni
        case "avx512": return cnns_qgemm_u7s8_avx512
        case "avx2": return cnns_qgemm_u7s8
        default: return cnns_qgemm_u7s8_scalar
        }
    }

    deinit {
        packed.deallocate(); multiplier.deallocate(); offset.deallocate()
        quantizedInput?.deallocate()
    }

    /// Bytes of the quantised weights (the float layer needs four times as many).
    public var weightBytes: Int { geometry.r * geometry.s * geometry.c * geometry.k }

    /// `clampLow`: ReLU-like activations applied in the dequantising pass (max(y, clampLow), then
    /// min(y, clampHigh)); nil leaves y as is.
    public func forward(
        input x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        clamp: ClosedRange<Float>? = nil
    ) {
        let (lo, hi) = Self.bounds(clamp)
        let g = geometry
        let K = g.k, L = g.r * g.s * g.c, L4 = paddedLength
        let rows = batch * g.p * g.q
        // 1. Quantise the input once (each value is read R·S times by the lowering).
        let xq = quantize(x, batch: batch, runner: runner)
        // 2. Lower bytes (im2col's lowering; the zero point where padded), 3. int8 GEMM, 4. dequantise.
        let chunk = Swift.min(rowsPerChunk, rows)
        reserveRowBuffers(rows: chunk, workers: runner.width)
        let pk = packed
        let gemm = Self.gemmKernel(gemmISA)
        runner.parallelRanges(rows, work: rows * L * K) { worker, range in
            let (cols, acc) = rowBuffers(worker, rows: chunk)
            var m0 = range.lowerBound
            while m0 < range.upperBound {
                let m1 = Swift.min(range.upperBound, m0 + chunk)
                let a = patchRows(xq, m0..<m1, into: cols)
                gemm(Int32(m1 - m0), Int32(K), Int32(L), a, Int32(L4), pk, acc, Int32(K))
                dequantize(acc, rows: m1 - m0, lo: lo, hi: hi, into: output + m0 * K)
                m0 = m1
            }
        }
    }

    /// The dequantising pass's bounds: the clamp's, or the whole float range.
    static func bounds(_ clamp: ClosedRange<Float>?) -> (Float, Float) {
        (clamp?.lowerBound ?? -Float.greatestFiniteMagnitude, clamp?.upperBound ?? Float.greatestFiniteMagnitude)
    }

    /// Each worker's buffers for `rows` output pixels: their lowered bytes (L4 each), then their
    /// int32 sums (K each), in one workspace buffer.
    private func reserveRowBuffers(rows: Int, workers: Int) {
        workspace.reserve(workers: workers, floats: (rows * paddedLength + 3) / 4 + rows * geometry.k)
    }

    private func rowBuffers(_ worker: Int, rows: Int) -> (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Int32>) {
        let buf = UnsafeMutableRawPointer(workspace.buffer(worker))
        let bytes = (rows * paddedLength + 3) / 4 * 4
        return (
            buf.bindMemory(to: UInt8.self, capacity: rows * paddedLength),
            (buf + bytes).bindMemory(to: Int32.self, capacity: rows * geometry.k)
        )
    }

    /// The lowered byte rows of output pixels `rows` (a row of L4 bytes each, the zero point where
    /// padded, zeros past L), or the quantised input itself for a 1x1 stride-1 layer.
    @inline(__always)
    private func patchRows(
        _ xq: UnsafeMutablePointer<UInt8>, _ rows: Range<Int>, into cols: UnsafeMutablePointer<UInt8>
    )
        -> UnsafePointer<UInt8>
    {
        let g = geometry, L = g.r * g.s * g.c, L4 = paddedLength
        if g.r == 1 && g.s == 1 && g.strideH == 1 && g.strideW == 1 && L4 == L {
            return UnsafePointer(xq + rows.lowerBound * L)
        }
        let zeroByte = UInt8(Swift.min(Swift.max(input.zeroPoint, 0), 127))
        PatchLowering.lower(g, input: UnsafePointer(xq), rows: rows, into: cols, rowLength: L4, padding: zeroByte)
        if L4 > L { for m in 0..<rows.count { (cols + m * L4 + L).update(repeating: 0, count: L4 - L) } }
        return UnsafePointer(cols)
    }

    /// int32 sums of `rows` output pixels -> floats, clamped to lo...hi (the C kernel, or its
    /// reference under the scalar ISA).
    @inline(__always)
    private func dequantize(
        _ acc: UnsafePointer<Int32>, rows: Int, lo: Float, hi: Float, into out: UnsafeMutablePointer<Float>
    ) {
        let K = geometry.k
        if gemmISA != "scalar" {
            cnns_dequantize_rows(acc, Int32(rows), Int32(K), multiplier, offset, lo, hi, out, K)
        } else {
            cnns_dequantize_rows_scalar(acc, Int32(rows), Int32(K), multiplier, offset, lo, hi, out, K)
        }
    }

    /// The input quantised to 7 bits into this kernel's buffer (each value is read R·S times by
    /// the lowering, so it is quantised once).
    private func quantize(_ x: UnsafePointer<Float>, batch: Int, runner: ParallelRunner) -> UnsafeMutablePointer<UInt8>
    {
        let g = geometry
        let inCount = batch * g.h * g.w * g.c
        if quantizedCapacity < inCount {
            quantizedInput?.deallocate()
            quantizedInput = .allocate(capacity: inCount)
            quantizedCapacity = inCount
        }
        let xq = quantizedInput!
        let q = input, vector = gemmISA != "scalar"
        runner.parallelRanges(inCount, work: inCount * 4) { _, r in
            q.quantize(x + r.lowerBound, r.count, into: xq + r.lowerBound, vector: vector)
        }
        return xq
    }

    // input NHWC (N,H,W,C) float -> conv -> 2x2 max pool (stride 2, floor) -> output (N,P/2,Q/2,K) float
    /// The convolution followed by 2x2 max pooling: each worker takes pooled rows, runs the int8
    /// GEMM on the two output rows under each, takes the maximum of the int32 sums of each window
    /// and dequantises only that quarter, so the full-size map is never written. Dequantising is
    /// increasing in the sum (its multiplier is a product of two positive scales) and so is the
    /// clamp, hence the result equals pooling the unfused output, bit for bit.
    public func forwardPooled2x2(
        input x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        clamp: ClosedRange<Float>? = nil
    ) {
        let (lo, hi) = Self.bounds(clamp)
        let g = geometry
        let K = g.k, L = g.r * g.s * g.c, L4 = paddedLength, Q = g.q
        let (P2, Q2) = (g.p / 2, g.q / 2)
        let xq = quantize(x, batch: batch, runner: runner)
        let span = 2 * Q  // the output rows under one pooled row
        reserveRowBuffers(rows: span, workers: runner.width)
        let pk = packed
        let gemm = Self.gemmKernel(gemmISA)
        runner.parallelRanges(batch * P2, work: batch * P2 * span * L * K) { worker, pooledRows in
            let (cols, acc) = rowBuffers(worker, rows: span)
            for pr in pooledRows {
                let n = pr / P2, pp = pr % P2
                let m0 = (n * g.p + 2 * pp) * Q
                let a = patchRows(xq, m0..<(m0 + span), into: cols)
                gemm(Int32(span), Int32(K), Int32(L), a, Int32(L4), pk, acc, Int32(K))
                // Window j takes output columns 2j, 2j+1 of both rows; pooled row j overwrites sum row
                // j, which no later window reads (they read rows 2j' and Q + 2j', j' > j).
                for j in 0..<Q2 {
                    let r0 = acc + 2 * j * K, r1 = r0 + K, r2 = acc + (Q + 2 * j) * K, r3 = r2 + K
                    let dst = acc + j * K
                    for k in 0..<K { dst[k] = Swift.max(Swift.max(r0[k], r1[k]), Swift.max(r2[k], r3[k])) }
                }
                dequantize(acc, rows: Q2, lo: lo, hi: hi, into: output + pr * Q2 * K)
            }
        }
    }
}
