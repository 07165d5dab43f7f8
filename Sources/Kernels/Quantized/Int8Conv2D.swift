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
/// tensor to 7 bits with a zero point from calibration. The input is quantised once, then
/// lowered; the int8 GEMM is `cnns_qgemm_u7s8` (AVX2 vpmaddubsw/vpmaddwd, int32 sums) or its
/// 16-lane variants (AVX-512 VNNI vpdpbusd, or AVX-512BW), chosen by `gemmISA`. A layer whose kernel
/// rows are short (S·C ≤ 16 bytes: a first layer) or a whole number of 4-byte groups may skip the
/// lowering (`Path.direct`, the default): the input is quantised into a padded copy
/// and `cnns_qconv_direct_u7s8` (or its 16-lane builds, on the same ISA as the GEMM) reads each
/// kernel row of a patch from it in place; under 2x2 pooling, a one-channel layer of at least four
/// kernel rows reads them down their columns, four bytes a group, from a column-quad copy of that
/// input (`columnQuads`, except on VNNI: a 5x5 kernel's 7 groups instead of 10). A 3x3 stride-1
/// layer may instead run Winograd F(2x4,3x3) on 16-bit integers (`Path.winograd`,
/// `cnns_qwino_u7s8`: 24 multiply-adds per 2x4 tile and channel instead of 72, on vpmaddwd or
/// VNNI's vpdpwssd), which gives the same int32 sums exactly; a 5x5 stride-1 layer Winograd
/// F(2x4,5x5) (`cnns_qwino5_u7s8`: 48 multiply-adds per 2x4 tile and channel instead of 200), whose
/// transformed weights are rounded to 16 bits per point and channel, so its sums lie within
/// `cnns_qwino5_error_bound` of the direct ones. On AVX-512 VNNI a 3x3 stride-1 layer may also run
/// Winograd F(2x2,3x3) with an 8-bit transform domain (`Path.winogradU8`, `cnns_qwino8_u7s8`: the
/// transformed input halved and the transformed weights rounded to bytes, so the sixteen GEMMs run
/// on vpdpbusd), whose sums lie within `cnns_qwino8_error_bound` of the direct ones.
/// Costs: the same multiply-adds as float (direct-equivalent), a quarter of the weight bytes.
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
    /// The column-quad copy of the padded input (`columnQuads`), built per pooled pass.
    private var quadCopy: UnsafeMutablePointer<UInt8>?
    private var quadCapacity = 0
    /// The weights packed in the column quads' group order, where the pooled direct kernel reads
    /// this one-channel layer's kernel rows as column quads (`cnns_qconv_quads_fits`: a 5x5
    /// kernel's 7 groups of 4 bytes instead of 10). Not on VNNI, where the window's epilogue
    /// dominates: in a C harness on Zen 5, large-filters' first layer ran 1.04-1.07x faster on
    /// quads, and 0.9-1.0x with the copy counted; on AVX2 1.41x, and 1.35x with the copy.
    let quadsPacked: UnsafeMutablePointer<Int8>?
    /// Whether the pooled direct kernel reads column quads (`quadsPacked`).
    public var columnQuads: Bool { quadsPacked != nil }
    /// The patch length R·S·C rounded up to 4 (the kernel reads whole groups of 4).
    let paddedLength: Int
    /// Whether this layer runs the direct kernel (no lowering) instead of lowering + GEMM.
    public let direct: Bool
    /// Whether this layer runs an integer Winograd kernel (3x3 or 5x5, stride 1) instead of either.
    public let winograd: Bool
    /// Whether that Winograd kernel is F(2x2,3x3) with the 8-bit transform domain (`Path.winogradU8`).
    public let winogradU8: Bool
    /// The Winograd kernel's transformed weights (`cnns_qwino_pack`, `cnns_qwino5_pack`), when `winograd`.
    let winogradWeights: UnsafeMutablePointer<Int16>?
    /// F(2x4,5x5)'s scale per point and output channel (48·K), when `winograd` on a 5x5 layer; the
    /// 8-bit domain's scale per output channel (K), when `winogradU8`.
    let winogradScales: UnsafeMutablePointer<Float>?
    /// The 8-bit domain's transformed weights and its corners' compensation for the byte offsets
    /// (`cnns_qwino8_pack`), when `winogradU8`.
    let winogradBytes: UnsafeMutablePointer<Int8>?
    let winogradCompensation: UnsafeMutablePointer<Int32>?
    /// 2x2 output tiles per call of the Winograd kernel on the pooled or unpooled tile grid: for the
    /// 16-bit F(2x4,3x3) and F(2x4,5x5) whole rows of the grid, about two of their groups of 2x4
    /// tiles (a row of tx tiles makes ⌈tx/2⌉ of them, so a chunk that starts a row splits no pair).
    /// The 8-bit domain's kernel runs groups of 6 tiles: three a chunk for 3x3; eight for 5x5, whose
    /// chunk transforms each patch of its extended grid once (48 tiles of a 7x7 grid reach about 64
    /// patches, where four sub-kernels of 48 tiles would be 192).
    public func tilesPerChunk(pooled: Bool) -> Int {
        if winogradU8 { return geometry.r == 5 ? 48 : 18 }
        let tx = Int(winogradShape(pooled: pooled).tiles_x), wide = Swift.max(1, (tx + 1) / 2)
        let group = Int(CNNS_QWINO_TILE_GROUP)
        return Swift.max(1, (2 * group + wide / 2) / wide) * Swift.max(1, tx)
    }
    /// The direct kernel's padded input extent: (padTop + H + padBottom, padLeft + W + padRight).
    let paddedExtent: (h: Int, w: Int)
    private let workspace = Workspace()
    public let rowsPerChunk = 256
    /// The int8 GEMM this layer runs: "avx512-vnni" (vpdpbusd), "avx512" (vpmaddubsw on zmm),
    /// "avx2" (on ymm) or "scalar", the widest the ISA cap and the CPU allow.
    public let gemmISA: String

    /// How the int32 sums are computed: reading each patch in place from a padded copy of the input
    /// (`direct`, where `directFits`; lowering elsewhere), or lowering patches to byte rows for the
    /// int8 GEMM.
    public enum Path: String, Sendable {
        case direct, lowered, winograd
        /// Winograd F(2x2,3x3) with an 8-bit transform domain (rounded; AVX-512 VNNI or the scalar
        /// reference); elsewhere the exact 16-bit Winograd kernel.
        case winogradU8 = "winograd-u8"
    }

    /// `weights` HWIO (R,S,C,K) = row-major [R·S·C, K]; `isa` caps the int8 GEMM's instruction set;
    /// `path` picks the direct kernel (where it fits), lowering, or Winograd (where it fits; else
    /// the direct kernel where that fits); `.winogradU8` the 8-bit transform domain where the int8
    /// GEMM is VNNI's or the scalar reference, else the exact 16-bit Winograd kernel.
    public init(
        geometry: ConvGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        input: ActivationQuantization, isa: String = ConvOptions.bestISA, path: Path = .direct
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
        var shape = geometry.cShape
        winograd = (path == .winograd || path == .winogradU8) && Self.winogradFits(geometry)
        winogradU8 = path == .winogradU8 && Self.winogradU8Fits(geometry) && Self.runsWinogradU8(gemmISA)
        direct = !winograd && Self.directFits(geometry) && path != .lowered
        var w16: UnsafeMutablePointer<Int16>?, wscales: UnsafeMutablePointer<Float>?
        var w8: UnsafeMutablePointer<Int8>?, comp: UnsafeMutablePointer<Int32>?
        if winogradU8 {
            let bytes = UnsafeMutablePointer<Int8>.allocate(
                capacity: Int(cnns_qwino8_packed_size(Int32(geometry.c), Int32(K), Int32(geometry.r))))
            let compensation = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * ((K + 15) / 16 * 16))
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: K)
            q.withUnsafeBufferPointer {
                cnns_qwino8_pack(
                    Int32(geometry.c), Int32(K), Int32(geometry.r), $0.baseAddress, bytes, compensation, scales)
            }
            (w8, comp, wscales) = (bytes, compensation, scales)
        } else if winograd && geometry.r == 5 {
            let count = Int(cnns_qwino5_packed_size(Int32(geometry.c), Int32(K))) / 2
            let packed = UnsafeMutablePointer<Int16>.allocate(capacity: count)
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: Int(CNNS_QWINO5_POINTS) * K)
            q.withUnsafeBufferPointer { cnns_qwino5_pack(Int32(geometry.c), Int32(K), $0.baseAddress, packed, scales) }
            (w16, wscales) = (packed, scales)
        } else if winograd {
            let count = Int(cnns_qwino_packed_size(Int32(geometry.c), Int32(K))) / 2
            let packed = UnsafeMutablePointer<Int16>.allocate(capacity: count)
            q.withUnsafeBufferPointer { cnns_qwino_pack(Int32(geometry.c), Int32(K), $0.baseAddress, packed) }
            w16 = packed
        }
        winogradWeights = w16
        winogradScales = wscales
        winogradBytes = w8
        winogradCompensation = comp
        paddedExtent = (
            geometry.padTop + geometry.h + geometry.padBottom, geometry.padLeft + geometry.w + geometry.padRight
        )
        let pk: UnsafeMutablePointer<Int8>
        if winograd {
            pk = .allocate(capacity: 1)
        } else if direct {
            let size = Int(cnns_qconv_direct_packed_size(&shape))
            pk = .allocate(capacity: size)
            var scratch = [Int8](repeating: 0, count: size)
            q.withUnsafeBufferPointer { cnns_qconv_direct_pack(&shape, $0.baseAddress, pk, &scratch) }
        } else {
            pk = .allocate(capacity: Int(cnns_qgemm_packed_size(Int32(K), Int32(L))))
            q.withUnsafeBufferPointer { cnns_qgemm_pack_b(Int32(K), Int32(L), $0.baseAddress, Int32(K), pk) }
        }
        packed = pk
        if direct && cnns_qconv_quads_fits(&shape) != 0 && gemmISA != "avx512-vnni" {
            let size = Int(cnns_qconv_quads_packed_size(&shape))
            let quads = UnsafeMutablePointer<Int8>.allocate(capacity: size)
            var scratch = [Int8](repeating: 0, count: size)
            q.withUnsafeBufferPointer { cnns_qconv_quads_pack(&shape, $0.baseAddress, quads, &scratch) }
            quadsPacked = quads
        } else {
            quadsPacked = nil
        }
        weightScales = scales
        multiplier = .allocate(capacity: K)
        offset = .allocate(capacity: K)
        for k in 0..<K {
            multiplier[k] = input.scale * scales[k]
            offset[k] = (bias?[k] ?? 0) - Float(input.zeroPoint) * Float(sums[k]) * multiplier[k]
        }
    }

    /// Whether the direct kernel (no lowering) takes this shape: kernel rows of at most 16 bytes or
    /// of whole 4-byte groups, and not a 1x1 stride-1 layer (whose lowered rows are its input as it
    /// is).
    public static func directFits(_ g: ConvGeometry) -> Bool {
        var shape = g.cShape
        return cnns_qconv_direct_fits(&shape) != 0 && !readsInputAsIs(g)
    }

    /// Whether an integer Winograd kernel takes this shape: 3x3, stride 1, at most
    /// `CNNS_QWINO_MAX_C` channels, or 5x5, stride 1, at most `CNNS_QWINO5_MAX_C`.
    public static func winogradFits(_ g: ConvGeometry) -> Bool {
        var shape = g.cShape
        return cnns_qwino_fits(&shape) != 0 || cnns_qwino5_fits(&shape) != 0
    }

    /// Whether the 8-bit domain's Winograd kernel takes this shape: 3x3, stride 1, at most
    /// `CNNS_QWINO8_MAX_C` channels, or 5x5 (four 3x3 sub-kernels) with a quarter of them (it runs
    /// where the int8 GEMM is VNNI's, or the scalar reference).
    public static func winogradU8Fits(_ g: ConvGeometry) -> Bool {
        var shape = g.cShape
        return cnns_qwino8_fits(&shape) != 0
    }

    /// Whether the 8-bit domain's kernel runs beside an int8 GEMM ISA: vpdpbusd under VNNI, the
    /// scalar reference under the scalar cap; not elsewhere (AVX2's vpmaddubsw would saturate on its
    /// bytes).
    static func runsWinogradU8(_ gemmISA: String) -> Bool { gemmISA == "avx512-vnni" || gemmISA == "scalar" }

    /// The Winograd kernel's ISA: AVX-512 VNNI (vpdpwssd; vpdpbusd in the 8-bit domain), AVX2
    /// (vpmaddwd, also under an AVX-512 cap without VNNI) or the scalar reference.
    var winogradISA: String {
        switch gemmISA {
        case "avx512-vnni": return "avx512-vnni"
        case "scalar": return "scalar"
        default: return "avx2"
        }
    }

    /// What computes the int32 sums, for reports: the kernel's ISA, then "direct", "lowered" or
    /// "winograd".
    public var kernelName: String {
        winograd
            ? winogradISA + (winogradU8 ? " winograd-u8" : " winograd") : gemmISA + (direct ? " direct" : " lowered")
    }

    /// The one-pass pooled kernel for `gemmISA` (on kernel rows, or on column quads where given a
    /// quad copy): VNNI, else AVX2 (scalar C without AVX2), or the scalar reference.
    static func pooledQuadsKernel(_ isa: String) -> PooledQuadsKernel {
        switch isa {
        case "avx512-vnni": return cnns_qconv_pooled_quads_avx512vnni
        case "scalar": return cnns_qconv_pooled_quads_scalar
        default: return cnns_qconv_pooled_quads
        }
    }

    /// The int8 GEMM for an ISA cap on this CPU.
    public static func gemmISA(cap: String) -> String {
        if cap == "avx512" && Blas.haveAVX512 { return Blas.haveAVX512VNNI ? "avx512-vnni" : "avx512" }
        if cap != "scalar" && Blas.haveSmallGemm { return "avx2" }
        return "scalar"
    }

    /// The pooled direct convolution's C kernel for `gemmISA` (the AVX2 one falls back to scalar C
    /// without AVX2).
    static func directPooledKernel(_ isa: String) -> DirectPooledKernel {
        switch isa {
        case "avx512-vnni": return cnns_qconv_direct_pooled_u7s8_avx512vnni
        case "avx512": return cnns_qconv_direct_pooled_u7s8_avx512
        case "avx2": return cnns_qconv_direct_pooled_u7s8
        default: return cnns_qconv_direct_pooled_u7s8_scalar
        }
    }

    /// The integer Winograd F(2x4,3x3) kernel for `winogradISA` (the AVX2 one falls back to scalar
    /// C without AVX2).
    static func winogradKernel(_ isa: String) -> WinogradKernel {
        switch isa {
        case "avx512-vnni": return cnns_qwino_u7s8_avx512vnni
        case "avx2": return cnns_qwino_u7s8
        default: return cnns_qwino_u7s8_scalar
        }
    }

    /// The 8-bit domain's Winograd F(2x2,3x3) kernel for `winogradISA` (VNNI or the scalar reference).
    static func winogradU8Kernel(_ isa: String) -> WinogradU8Kernel {
        isa == "avx512-vnni" ? cnns_qwino8_u7s8_avx512vnni : cnns_qwino8_u7s8_scalar
    }

    /// The integer Winograd F(2x4,5x5) kernel for `winogradISA`, as `winogradKernel`.
    static func winograd5Kernel(_ isa: String) -> Winograd5Kernel {
        switch isa {
        case "avx512-vnni": return cnns_qwino5_u7s8_avx512vnni
        case "avx2": return cnns_qwino5_u7s8
        default: return cnns_qwino5_u7s8_scalar
        }
    }

    /// The direct convolution's C kernel for `gemmISA` (the AVX2 one falls back to scalar C without AVX2).
    static func directKernel(_ isa: String) -> DirectKernel {
        switch isa {
        case "avx512-vnni": return cnns_qconv_direct_u7s8_avx512vnni
        case "avx512": return cnns_qconv_direct_u7s8_avx512
        case "avx2": return cnns_qconv_direct_u7s8
        default: return cnns_qconv_direct_u7s8_scalar
        }
    }

    /// The C kernel for `gemmISA` (the AVX2 one falls back to scalar C without AVX2).
    static func gemmKernel(_ isa: String) -> GemmKernel {
        switch isa {
        case "avx512-vnni": return cnns_qgemm_u7s8_avx512vnni
        case "avx512": return cnns_qgemm_u7s8_avx512
        case "avx2": return cnns_qgemm_u7s8
        default: return cnns_qgemm_u7s8_scalar
        }
    }

    deinit {
        packed.deallocate(); multiplier.deallocate(); offset.deallocate(); winogradWeights?.deallocate()
        winogradScales?.deallocate(); winogradBytes?.deallocate(); winogradCompensation?.deallocate()
        quantizedInput?.deallocate(); quadCopy?.deallocate(); quadsPacked?.deallocate()
    }

    /// Bytes of scratch this layer holds now: the quantised input and every worker's buffers (the
    /// declared `cost(batch:workers:pooled:).workspaceBytes` of the largest pass run so far).
    public var heldWorkspaceBytes: Int { quantizedCapacity + quadCapacity + workspace.totalBytes }

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
        let K = g.k, L = g.r * g.s * g.c
        let rows = batch * g.p * g.q
        // 1. Quantise the input once (each value is read R·S times by the lowering).
        let xq = quantize(x, batch: batch, runner: runner)
        if winograd {
            winogradForward(xq, batch: batch, pooled: false, lo: lo, hi: hi, output: output, runner: runner)
            return
        }
        // 2. Lower bytes (the zero point where padded) and 3. the int8 GEMM, or 2-3. the direct kernel
        // on the padded input; 4. dequantise.
        let chunk = Swift.min(rowsPerChunk, rows)
        reserveRowBuffers(rows: chunk, workers: runner.width)
        let gemm = Self.gemmKernel(gemmISA)
        runner.parallelRanges(rows, work: rows * L * K) { worker, range in
            let (cols, acc) = rowBuffers(worker, rows: chunk)
            var m0 = range.lowerBound
            while m0 < range.upperBound {
                let m1 = Swift.min(range.upperBound, m0 + chunk)
                sums(xq, m0..<m1, cols: cols, acc: acc, gemm: gemm)
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

    typealias DirectKernel =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<UInt8>?, Int32, Int32, Int, Int32, UnsafePointer<Int8>?,
            UnsafeMutablePointer<Int32>?, Int32
        ) -> Void

    typealias DirectPooledKernel = DirectKernel

    typealias WinogradKernel =
        @convention(c) (
            UnsafePointer<cnns_qwino_shape>?, UnsafePointer<UInt8>?, Int, Int32, Int32, UnsafePointer<Int16>?,
            UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?
        ) -> Void

    typealias Winograd5Kernel =
        @convention(c) (
            UnsafePointer<cnns_qwino_shape>?, UnsafePointer<UInt8>?, Int, Int32, Int32, UnsafePointer<Int16>?,
            UnsafePointer<Float>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?
        ) -> Void

    typealias WinogradU8Kernel =
        @convention(c) (
            UnsafePointer<cnns_qwino_shape>?, Int32, UnsafePointer<UInt8>?, Int, Int32, Int32, UnsafePointer<Int8>?,
            UnsafePointer<Int32>?, UnsafePointer<Float>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?
        ) -> Void

    typealias PooledSmallKernel =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<UInt8>?, Int32, Int32, Int, Int32, UnsafePointer<Int8>?,
            UnsafePointer<Float>?, UnsafePointer<Float>?, Float, Float, UnsafeMutablePointer<Float>?
        ) -> Void

    typealias PooledQuadsKernel =
        @convention(c) (
            UnsafePointer<cnns_conv_shape>?, UnsafePointer<UInt8>?, UnsafePointer<UInt8>?, Int32, Int32, Int, Int32,
            UnsafePointer<Int8>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Float, Float,
            UnsafeMutablePointer<Float>?
        ) -> Void

    typealias GemmKernel =
        @convention(c) (
            Int32, Int32, Int32, UnsafePointer<UInt8>?, Int32, UnsafePointer<Int8>?, UnsafeMutablePointer<Int32>?, Int32
        ) -> Void

    /// The int32 sums of output pixels `rows` into `acc` (K each): the direct kernel on the padded
    /// input, or lowering (into `cols`) and the int8 GEMM.
    @inline(__always)
    private func sums(
        _ xq: UnsafeMutablePointer<UInt8>, _ rows: Range<Int>, cols: UnsafeMutablePointer<UInt8>,
        acc: UnsafeMutablePointer<Int32>, gemm: GemmKernel
    ) {
        let g = geometry
        if direct {
            var shape = g.cShape
            Self.directKernel(gemmISA)(
                &shape, xq, Int32(paddedExtent.h), Int32(paddedExtent.w), rows.lowerBound, Int32(rows.count), packed,
                acc, Int32(g.k))
            return
        }
        let a = patchRows(xq, rows, into: cols)
        gemm(Int32(rows.count), Int32(g.k), Int32(g.r * g.s * g.c), a, Int32(paddedLength), packed, acc, Int32(g.k))
    }

    /// A 1x1 stride-1 layer's lowered rows are its quantised input itself.
    static func readsInputAsIs(_ g: ConvGeometry) -> Bool {
        g.r == 1 && g.s == 1 && g.strideH == 1 && g.strideW == 1 && g.c % 4 == 0
    }

    /// The lowered byte rows of output pixels `rows` (a row of L4 bytes each, the zero point where
    /// padded, zeros past L), or the quantised input itself for a 1x1 stride-1 layer.
    @inline(__always)
    private func patchRows(
        _ xq: UnsafeMutablePointer<UInt8>, _ rows: Range<Int>, into cols: UnsafeMutablePointer<UInt8>
    )
        -> UnsafePointer<UInt8>
    {
        let g = geometry, L4 = paddedLength
        if Self.readsInputAsIs(g) { return UnsafePointer(xq + rows.lowerBound * L4) }
        var shape = g.cShape
        if gemmISA != "scalar" {
            cnns_lower_u8(&shape, xq, rows.lowerBound, Int32(rows.count), cols, Int32(L4), zeroByte)
        } else {
            cnns_lower_u8_scalar(&shape, xq, rows.lowerBound, Int32(rows.count), cols, Int32(L4), zeroByte)
        }
        return UnsafePointer(cols)
    }

    /// The byte that stands for 0.0: padding taps.
    var zeroByte: UInt8 { UInt8(Swift.min(Swift.max(input.zeroPoint, 0), 127)) }

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
    /// the lowering, so it is quantised once); for the direct kernel with its padding written in
    /// (the zero point) and 3 bytes to spare after it.
    private func quantize(_ x: UnsafePointer<Float>, batch: Int, runner: ParallelRunner) -> UnsafeMutablePointer<UInt8>
    {
        let g = geometry
        let padded = direct || winograd
        let (hp, wp) = padded ? paddedExtent : (g.h, g.w)
        let count = batch * hp * wp * g.c + (padded ? 3 : 0)
        if quantizedCapacity < count {
            quantizedInput?.deallocate()
            quantizedInput = .allocate(capacity: count)
            quantizedCapacity = count
        }
        let xq = quantizedInput!
        let q = input, vector = gemmISA != "scalar"
        guard padded else {
            let inCount = batch * g.h * g.w * g.c
            runner.parallelRanges(inCount, work: inCount * 4) { _, r in
                q.quantize(x + r.lowerBound, r.count, into: xq + r.lowerBound, vector: vector)
            }
            return xq
        }
        let C = g.c, pad = zeroByte
        (xq + batch * hp * wp * C).update(repeating: 0, count: 3)
        runner.parallelRanges(batch * hp, work: batch * hp * wp * C * 4) { _, rows in
            for row in rows {
                let n = row / hp, ih = row % hp - g.padTop
                let dst = xq + row * wp * C
                guard ih >= 0 && ih < g.h else {
                    dst.update(repeating: pad, count: wp * C)
                    continue
                }
                dst.update(repeating: pad, count: g.padLeft * C)
                q.quantize(x + (n * g.h + ih) * g.w * C, g.w * C, into: dst + g.padLeft * C, vector: vector)
                (dst + (g.padLeft + g.w) * C).update(repeating: pad, count: g.padRight * C)
            }
        }
        return xq
    }

    // xq: padded u7 input (N, hp, wp, C) -> 2x2 tiles -> output NHWC (N,P,Q,K) float, or pooled (N,P/2,Q/2,K)
    /// The Winograd path: workers take chunks of `tilesPerChunk` tiles (a grid of ⌈P/2⌉ x ⌈Q/2⌉
    /// tiles per image, or ⌊P/2⌋ x ⌊Q/2⌋ when pooling, where tile t is pooled output pixel t), and
    /// dequantise each tile's sums (or their maximum) into place.
    private func winogradForward(
        _ xq: UnsafeMutablePointer<UInt8>, batch: Int, pooled: Bool, lo: Float, hi: Float,
        output: UnsafeMutablePointer<Float>, runner: ParallelRunner
    ) {
        let g = geometry, K = g.k
        var shape = winogradShape(pooled: pooled)
        let ty = Int(shape.tiles_y), tx = Int(shape.tiles_x)
        let tiles = batch * ty * tx, T = tilesPerChunk(pooled: pooled), five = g.r == 5
        let workBytes = winogradWorkspaceBytes(tiles: T, pooled: pooled)
        let sumsPerTile = pooled ? K : 4 * K
        workspace.reserve(workers: runner.width, floats: workBytes / 4 + 16 + T * sumsPerTile)
        let chunks = (tiles + T - 1) / T
        let weights = winogradWeights, scales = winogradScales, pool: Int32 = pooled ? 1 : 0
        let bytes = winogradBytes, compensation = winogradCompensation, u8 = winogradU8
        let kernel3 = Self.winogradKernel(winogradISA), kernel5 = Self.winograd5Kernel(winogradISA)
        let kernel8 = Self.winogradU8Kernel(winogradISA)
        runner.parallelRanges(chunks, work: tiles * (five ? 24 : 12) * g.c * K) { worker, range in
            let buf = UnsafeMutableRawPointer(workspace.buffer(worker))
            let y = (buf + (workBytes + 63) / 64 * 64).bindMemory(to: Int32.self, capacity: T * sumsPerTile)
            for chunk in range {
                let t0 = chunk * T, n = Swift.min(T, tiles - t0)
                if u8 {  // the 8-bit domain (3x3, or 5x5 as four 3x3): its bytes, compensation and scales
                    kernel8(&shape, Int32(g.r), xq, t0, Int32(n), pool, bytes, compensation, scales, buf, y)
                } else if five {  // F(2x4,5x5) takes its scales too
                    kernel5(&shape, xq, t0, Int32(n), pool, weights, scales, buf, y)
                } else {
                    kernel3(&shape, xq, t0, Int32(n), pool, weights, buf, y)
                }
                if pooled {
                    dequantize(y, rows: n, lo: lo, hi: hi, into: output + t0 * K)
                    continue
                }
                for t in 0..<n {
                    let tile = t0 + t, image = tile / (ty * tx), i = tile % (ty * tx) / tx, j = tile % tx
                    for corner in 0..<4 {
                        let p = 2 * i + corner / 2, q = 2 * j + corner % 2
                        guard p < g.p && q < g.q else { continue }
                        dequantize(
                            y + (t * 4 + corner) * K, rows: 1, lo: lo, hi: hi,
                            into: output + ((image * g.p + p) * g.q + q) * K)
                    }
                }
            }
        }
    }

    /// Whether a direct layer's convolution, pooling and dequantising run in one pass under 2x2 max
    /// pooling (`cnns_qconv_pooled_small`): at most 512 groups of 4 bytes per patch, K a multiple of 8.
    static func pooledSmallFits(_ g: ConvGeometry) -> Bool {
        var shape = g.cShape
        return cnns_qconv_pooled_small_fits(&shape) != 0
    }

    // xq: padded u7 input (N, hp, wp, C) -> (N,P/2,Q/2,K) float, each window's sums kept in registers
    /// The direct kernel under 2x2 max pooling, K a multiple of 8: each window's four pixels summed,
    /// pooled and dequantised in registers (vpdpbusd under VNNI; the AVX2 build under an AVX-512
    /// cap without VNNI), workers taking pooled rows; the same floats as `directPooled`.
    private func pooledSmall(
        _ xq: UnsafeMutablePointer<UInt8>, batch: Int, lo: Float, hi: Float, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner
    ) {
        let g = geometry, P2 = g.p / 2
        var shape = g.cShape
        let (hp, wp) = (Int32(paddedExtent.h), Int32(paddedExtent.w))
        // Without quads the same kernels read kernel rows (no copy, the rows' packing).
        let xq4 = quadsPacked == nil ? nil : columnQuadCopy(of: xq, batch: batch, runner: runner)
        let weights = quadsPacked ?? packed, kernel = Self.pooledQuadsKernel(gemmISA)
        runner.parallelRanges(batch * P2, work: batch * P2 * 4 * (g.q / 2) * g.r * g.s * g.c * g.k) { _, rows in
            kernel(
                &shape, xq, xq4, hp, wp, rows.lowerBound, Int32(rows.count), weights, multiplier, offset, lo, hi,
                output)
        }
    }

    // xq: padded u7 input (N, hp, wp, 1) -> (N, hp, wp, 4): pixel (n, y, x) holds pixels (n, y..y+3, x)
    /// The column-quad copy of the padded one-channel input (`cnns_qconv_column_quads`), built by
    /// the workers a range of padded rows each.
    private func columnQuadCopy(of xq: UnsafeMutablePointer<UInt8>, batch: Int, runner: ParallelRunner)
        -> UnsafeMutablePointer<UInt8>
    {
        let (hp, wp) = (paddedExtent.h, paddedExtent.w)
        let count = batch * hp * wp * 4
        if quadCapacity < count {
            quadCopy?.deallocate()
            quadCopy = .allocate(capacity: count)
            quadCapacity = count
        }
        let copy = quadCopy!
        runner.parallelRanges(batch * hp, work: count) { _, rows in
            cnns_qconv_column_quads(xq, Int32(hp), Int32(wp), rows.lowerBound, rows.count, copy)
        }
        return copy
    }

    // xq: padded u7 input (N, hp, wp, C) -> the pooling windows' sums -> output (N,P/2,Q/2,K) float
    /// The direct kernel under 2x2 max pooling: workers take groups of pooled rows (about 256
    /// pixels a call), compute only the pixels their windows read (`cnns_qconv_direct_pooled_u7s8`:
    /// a last odd column is skipped), and pool and dequantise each pooled row.
    private func directPooled(
        _ xq: UnsafeMutablePointer<UInt8>, batch: Int, lo: Float, hi: Float, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner
    ) {
        let g = geometry, K = g.k, L = g.r * g.s * g.c
        let (P2, Q2) = (g.p / 2, g.q / 2)
        let perRow = 4 * Q2  // the pixels one pooled row's windows read
        guard perRow > 0 else { return }
        let group = Swift.max(1, Swift.min(batch * P2, rowsPerChunk / perRow))
        reserveRowBuffers(rows: group * perRow, workers: runner.width)
        var shape = g.cShape
        let kernel = Self.directPooledKernel(gemmISA), vector = gemmISA != "scalar"
        let (hp, wp) = (Int32(paddedExtent.h), Int32(paddedExtent.w))
        runner.parallelRanges(batch * P2, work: batch * P2 * perRow * L * K) { worker, pooledRows in
            let (_, acc) = rowBuffers(worker, rows: group * perRow)
            var pr = pooledRows.lowerBound
            while pr < pooledRows.upperBound {
                let count = Swift.min(group, pooledRows.upperBound - pr)
                kernel(&shape, xq, hp, wp, pr, Int32(count), packed, acc, Int32(K))
                for j in 0..<count {
                    // Window j of a pooled row takes columns 2j, 2j+1 of both its rows.
                    let sums = acc + j * perRow * K, out = output + (pr + j) * Q2 * K
                    if vector {
                        cnns_dequantize_pooled2x2(sums, Int32(2 * Q2), Int32(K), multiplier, offset, lo, hi, out)
                    } else {
                        cnns_dequantize_pooled2x2_scalar(sums, Int32(2 * Q2), Int32(K), multiplier, offset, lo, hi, out)
                    }
                }
                pr += count
            }
        }
    }

    // input NHWC (N,H,W,C) float -> conv -> 2x2 max pool (stride 2, floor) -> output (N,P/2,Q/2,K) float
    /// The convolution followed by 2x2 max pooling: each worker takes pooled rows, computes the
    /// int32 sums of the pixels under their windows (the direct kernel: only those pixels; lowering:
    /// the two output rows; Winograd: one 2x2 tile per window), takes the maximum of each window
    /// and dequantises only that quarter, so the full-size map is never written. Dequantising is
    /// increasing in the sum (its multiplier is a product of two positive scales) and so is the
    /// clamp, hence the result equals pooling the unfused output, bit for bit.
    public func forwardPooled2x2(
        input x: UnsafePointer<Float>, batch: Int, output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        clamp: ClosedRange<Float>? = nil
    ) {
        let (lo, hi) = Self.bounds(clamp)
        let g = geometry
        let K = g.k, L = g.r * g.s * g.c, Q = g.q
        let (P2, Q2) = (g.p / 2, g.q / 2)
        let xq = quantize(x, batch: batch, runner: runner)
        if winograd {
            winogradForward(xq, batch: batch, pooled: true, lo: lo, hi: hi, output: output, runner: runner)
            return
        }
        if direct && Self.pooledSmallFits(g) {
            pooledSmall(xq, batch: batch, lo: lo, hi: hi, output: output, runner: runner)
            return
        }
        if direct {
            directPooled(xq, batch: batch, lo: lo, hi: hi, output: output, runner: runner)
            return
        }
        let span = 2 * Q  // the output rows under one pooled row
        reserveRowBuffers(rows: span, workers: runner.width)
        let gemm = Self.gemmKernel(gemmISA)
        runner.parallelRanges(batch * P2, work: batch * P2 * span * L * K) { worker, pooledRows in
            let (cols, acc) = rowBuffers(worker, rows: span)
            for pr in pooledRows {
                let n = pr / P2, pp = pr % P2
                let m0 = (n * g.p + 2 * pp) * Q
                sums(xq, m0..<(m0 + span), cols: cols, acc: acc, gemm: gemm)
                // Window j takes output columns 2j, 2j+1 of both rows: pooled, then dequantised.
                let out = output + pr * Q2 * K
                if gemmISA != "scalar" {
                    cnns_dequantize_pooled2x2(acc, Int32(Q), Int32(K), multiplier, offset, lo, hi, out)
                } else {
                    cnns_dequantize_pooled2x2_scalar(acc, Int32(Q), Int32(K), multiplier, offset, lo, hi, out)
                }
            }
        }
    }
}

extension Int8Conv2D {
    /// The Winograd kernels' padded input and tile grid: ⌈P/2⌉ x ⌈Q/2⌉ tiles per image, or
    /// ⌊P/2⌋ x ⌊Q/2⌋ when pooling.
    func winogradShape(pooled: Bool) -> cnns_qwino_shape {
        let g = geometry
        let (ty, tx) = pooled ? (g.p / 2, g.q / 2) : ((g.p + 1) / 2, (g.q + 1) / 2)
        return cnns_qwino_shape(
            c: Int32(g.c), k: Int32(g.k), hp: Int32(paddedExtent.h), wp: Int32(paddedExtent.w), tiles_y: Int32(ty),
            tiles_x: Int32(tx), pad: zeroByte)
    }

    /// Bytes of one worker's Winograd workspace for `tiles` tiles a call (the kernel's own size), on the
    /// tile grid of a pooled or an unpooled output.
    func winogradWorkspaceBytes(tiles T: Int, pooled: Bool) -> Int {
        let g = geometry
        if winogradU8 {
            var shape = winogradShape(pooled: pooled)
            return Int(cnns_qwino8_workspace_size(&shape, Int32(g.r), Int32(T)))
        }
        if g.r == 5 { return Int(cnns_qwino5_workspace_size(Int32(g.c), Int32(g.k), Int32(T))) }
        return Int(cnns_qwino_workspace_size(Int32(g.c), Int32(g.k), Int32(T)))
    }
}
