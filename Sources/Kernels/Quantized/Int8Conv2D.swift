import Tensor
import CKernels

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

    @inline(__always)
    func quantize(_ x: Float, _ inv: Float) -> UInt8 {
        let q = Int32((x * inv).rounded()) + zeroPoint
        return UInt8(Swift.min(Swift.max(q, 0), 127))
    }
}

// input NHWC (N,H,W,C) float -> u7 columns [rows, R·S·C rounded up to 4] · int8 weights [R·S·C, K]
// -> int32 -> output NHWC (N,P,Q,K) float = (acc − zp·Σw)·sx·sw[k] + bias[k]
/// Post-training int8 convolution (and dense layers, as 1x1 convolutions of a 1x1 image):
/// weights quantised symmetrically per output channel (scale = max|w|/127), activations per
/// tensor to 7 bits with a zero point from calibration. The input is quantised while it is
/// lowered; the int8 GEMM is `cnns_qgemm_u7s8` (AVX2 vpmaddubsw/vpmaddwd, int32 sums).
/// Costs: the same multiply-adds as float, a quarter of the weight bytes.
public final class Int8Conv2D {
    public let geometry: ConvGeometry
    public let input: ActivationQuantization
    /// Per output channel.
    public let weightScales: [Float]
    let packed: UnsafeMutablePointer<Int8>
    let columnSums: [Int32]
    let bias: [Float]
    /// The patch length R·S·C rounded up to 4 (the kernel reads whole groups of 4).
    let paddedLength: Int
    private let workspace = Workspace()
    public let rowsPerChunk = 256

    /// `weights` HWIO (R,S,C,K) = row-major [R·S·C, K].
    public init(geometry: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, input: ActivationQuantization) {
        self.geometry = geometry
        self.input = input
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
        columnSums = sums
        self.bias = (0..<K).map { bias?[$0] ?? 0 }
    }

    deinit { packed.deallocate() }

    /// Bytes of the quantised weights (the float layer needs four times as many).
    public var weightBytes: Int { geometry.r * geometry.s * geometry.c * geometry.k }

    public func forward(input x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>, runner: ParallelRunner) {
        let g = geometry
        let K = g.k, L = g.r * g.s * g.c, L4 = paddedLength
        let rows = batch * g.p * g.q
        let chunk = Swift.min(rowsPerChunk, rows)
        // Per worker: u8 columns (chunk × L4 bytes) and int32 results (chunk × K), in floats.
        let floats = (chunk * L4 + 3) / 4 + chunk * K
        workspace.reserve(workers: runner.width, floats: floats)
        let inv = 1 / input.scale, zp = input.zeroPoint
        let zeroByte = UInt8(Swift.min(Swift.max(zp, 0), 127))
        let q = input
        runner.parallelRanges(rows, work: rows * L * K) { worker, range in
            let buf = UnsafeMutableRawPointer(workspace.buffer(worker))
            let cols = buf.bindMemory(to: UInt8.self, capacity: chunk * L4)
            let acc = (buf + (chunk * L4 + 3) / 4 * 4).bindMemory(to: Int32.self, capacity: chunk * K)
            var m0 = range.lowerBound
            while m0 < range.upperBound {
                let m1 = Swift.min(range.upperBound, m0 + chunk)
                // Lower and quantise: padding positions get the zero point (the quantised 0.0).
                for m in m0..<m1 {
                    let dst = cols + (m - m0) * L4
                    let n = m / (g.p * g.q), pq = m % (g.p * g.q), p = pq / g.q, qq = pq % g.q
                    var i = 0
                    for r in 0..<g.r {
                        let ih = p * g.strideH - g.padTop + r
                        for s in 0..<g.s {
                            let iw = qq * g.strideW - g.padLeft + s
                            if ih < 0 || ih >= g.h || iw < 0 || iw >= g.w {
                                for _ in 0..<g.c { dst[i] = zeroByte; i += 1 }
                            } else {
                                let src = x + ((n * g.h + ih) * g.w + iw) * g.c
                                for c in 0..<g.c { dst[i] = q.quantize(src[c], inv); i += 1 }
                            }
                        }
                    }
                    for j in L..<L4 { dst[j] = 0 }
                }
                cnns_qgemm_u7s8(Int32(m1 - m0), Int32(K), Int32(L), cols, Int32(L4), packed, acc, Int32(K))
                for m in m0..<m1 {
                    let a = acc + (m - m0) * K, o = output + m * K
                    for k in 0..<K {
                        let centred = a[k] - zp * columnSums[k]
                        o[k] = Float(centred) * (q.scale * weightScales[k]) + bias[k]
                    }
                }
                m0 = m1
            }
        }
    }
}
