import Tensor

/// The convolution algorithms cnnscope implements.
public enum ConvAlgorithmKind: String, CaseIterable, Codable, Sendable {
    case naive
    case im2col
    case winogradF2 = "winograd-f2x3"
    case winogradF4 = "winograd-f4x3"
    case winogradF2x5 = "winograd-f2x5"
    case winogradF3x2 = "winograd-f3x2"
    case winogradF4x5 = "winograd-f4x5"

    /// Every setting a user may name, for help texts and error messages (one list, from the cases):
    /// "naive, im2col, winograd-f2x3, winograd-f4x3 (or winograd), winograd-f2x5, winograd-f3x2, winograd-f4x5".
    public static var userChoices: String {
        allCases.map { $0 == .winogradF4 ? "\($0.rawValue) (or winograd)" : $0.rawValue }.joined(separator: ", ")
    }

    /// Accepts the short spellings users type: `winograd` means F(4x4,3x3).
    public init?(userSpelling s: String) {
        switch s.lowercased() {
        case "naive", "direct": self = .naive
        case "im2col", "gemm": self = .im2col
        case "winograd-f2x3", "winograd2", "f2x3", "wino2": self = .winogradF2
        case "winograd", "winograd-f4x3", "winograd4", "f4x3", "wino4": self = .winogradF4
        case "winograd-f2x5", "f2x5", "winograd5": self = .winogradF2x5
        case "winograd-f3x2", "f3x2": self = .winogradF3x2
        case "winograd-f4x5", "f4x5": self = .winogradF4x5
        default: return nil
        }
    }

    /// The Winograd transform of a Winograd kind (nil for naive and im2col).
    public var winogradTransform: WinogradTransform? {
        switch self {
        case .naive, .im2col: return nil
        case .winogradF2: return .f2x3
        case .winogradF4: return .f4x3
        case .winogradF2x5: return .f2x5
        case .winogradF3x2: return .f3x2
        case .winogradF4x5: return .f4x5
        }
    }

    /// The Winograd kinds, one per transform.
    public static var winogradKinds: [ConvAlgorithmKind] { allCases.filter { $0.winogradTransform != nil } }

    /// The kind that runs a Winograd transform.
    public init(transform: WinogradTransform) {
        self = Self.winogradKinds.first { $0.winogradTransform?.variant == transform.variant } ?? .winogradF4
    }

    /// Whether this algorithm can run the layer, and why not.
    public func check(_ g: ConvGeometry) throws {
        switch self {
        case .naive, .im2col: return
        case .winogradF2, .winogradF4, .winogradF2x5, .winogradF3x2, .winogradF4x5:
            let r = winogradTransform!.r
            guard g.r == r, g.s == r else {
                throw ConvError.unsupported(
                    algorithm: rawValue,
                    reason: "kernel is \(g.r)x\(g.s); this Winograd transform is for \(r)x\(r) only")
            }
            guard g.strideH == 1, g.strideW == 1 else {
                throw ConvError.unsupported(
                    algorithm: rawValue, reason: "stride \(g.strideH)x\(g.strideW); Winograd needs stride 1")
            }
        }
    }

    public func make(_ g: ConvGeometry, options: ConvOptions = ConvOptions()) throws -> ConvolutionAlgorithm {
        try check(g)
        switch self {
        case .naive: return NaiveConv2D(geometry: g)
        case .im2col: return Im2colConv2D(geometry: g, options: options)
        case .winogradF2, .winogradF4, .winogradF2x5, .winogradF3x2, .winogradF4x5:
            return WinogradConv2D(geometry: g, transform: winogradTransform!, options: options)
        }
    }
}

/// Tunables shared by the algorithms.
public struct ConvOptions: Codable, Equatable, Sendable {
    /// Upper bound of one worker's im2col column buffer (the batch is lowered in chunks that fit).
    public var workspaceLimitBytes: Int
    /// Upper bound of one worker's Winograd transform-domain buffers (tiles are processed in chunks):
    /// V and M in the forward, V and D in the weight gradient.
    public var winogradChunkBytes: Int
    /// The widest ISA the hand-written kernels may use: "avx2" (AVX2+FMA) or "scalar" (their plain
    /// C references, OpenBLAS and portable Swift only). Defaults to the best this CPU has.
    public var isa: String
    /// Short receptive fields (first layers) lowered into registers instead of a column buffer.
    public var smallPatch: Bool
    /// Winograd's transform-domain GEMMs on cnnscope's 6x16 kernel instead of OpenBLAS.
    public var smallGemm: Bool
    /// im2col's forward GEMM on the same kernel, and 1x1 stride-1 layers on the pointwise kernel
    /// (packed weight panels, bias and clamp fused; `cnns_pointwise_forward`) instead of OpenBLAS.
    public var im2colSmallGemm: Bool
    /// Largest weight panel (k·n floats) the small kernel takes; larger ones go to OpenBLAS.
    public var smallGemmMaxPanelFloats: Int
    /// "pool" (pinned workers, single-threaded OpenBLAS) or "blas" (one worker, OpenBLAS threads).
    public var threading: String
    /// A layer whose forward runs Winograd may compute its weight gradient on a Winograd transform
    /// (`WinogradWeightGradient`, any that fits the kernel) instead of im2col's colᵀ·dy, where six
    /// alternated timings on the first backward find it at most 0.92x im2col's time. On by default
    /// (CNNSCOPE_WINOGRAD_DW=0 turns it off) since its chunks fit in L2 (`tilesPerChunk`): on Zen 4
    /// `cnnscope bench` has the best transform 1.1-1.7x faster than im2col's on every lab layer, on
    /// one and two threads, and 1.0-1.6x under `--isa avx2`. (With chunks in L3 it had run
    /// 0.76-1.10x im2col's on the Zen 3 machine, and was off by default.)
    public var winogradWeightGradient = true
    /// im2col's weight gradient reads each kernel row of a patch from the input in place
    /// (`cnns_conv_dweights_implicit`, AVX2) instead of lowering a column buffer for OpenBLAS's
    /// colᵀ·dy (CNNSCOPE_IMPLICIT_DW=0 turns it off, for comparisons).
    public var implicitWeightGradient = true
    /// Winograd's output transform writes whole vectors with non-temporal stores when a forward's
    /// output (batch·P·Q·K floats) reaches this many bytes: lines it overwrites whole then skip
    /// the read for ownership. `sized` sets it to one worker's L2, which such an output cannot
    /// stay in anyway. Measured on Zen 4 (1 MiB L2), F(4x4,3x3) at batch 64: 14x14x64->128 3.91 ->
    /// 3.40 ms on two threads, 16x16x32->64 2.71 -> 2.31 ms on one; a 0.4 MB output unchanged.
    public var streamingStoreMinBytes = 1 << 20
    /// The same threshold for an inference forward in a model (`WinogradConv2D.outputReadNext`),
    /// whose output the next layer reads at once: such an output stays in the caches unless it
    /// cannot fit the last level. `sized` sets it to the L3. Measured on Zen 4 (32 MiB L3),
    /// basic-cnn's inference at batch 64: its 3.2 MB Winograd output streamed left the max pooling
    /// after it reading DRAM, 0.22-0.52 ms against 0.10-0.20 ms cached; the model ran 28.3-36.0
    /// thousand images/s streamed against 35.8-38.7 cached (alternated runs).
    public var streamingStoreMinBytesAtInference = 32 << 20
    /// Winograd's forward runs a layer whole where U is packed for the pointwise kernel (C·K over
    /// `smallGemmMaxPanelFloats`) and the chunks of tiles would read U more than once per worker:
    /// every tile's V first, then the α² GEMMs split across the workers by ξ and column panels
    /// (so U streams from memory once per call), then every output tile; when V and M for all the
    /// tiles fit in this many bytes (0 turns it off). `sized` sets it to half the L3. Chunks of 8
    /// tiles had VGG16's 512-channel layers at batch 1 read their 17-38 MB of U 7-25 times a call.
    public var winogradWholeLayerMaxBytes = 16 << 20

    /// The ISA the kernels use when nothing caps it: the widest this CPU has.
    public static var bestISA: String { availableISAs.last ?? "scalar" }

    /// The ISAs `--isa` names, widest last; `availableISAs` those this build runs on this CPU.
    public static let knownISAs = ["scalar", "avx2", "avx512"]
    public static var availableISAs: [String] {
        ["scalar"] + (Blas.haveSmallGemm ? ["avx2"] : []) + (Blas.haveAVX512 ? ["avx512"] : [])
    }

    /// Checks a requested ISA: known, present on this CPU, and with kernels in this build.
    public static func checkISA(_ isa: String, cpuHasAVX512: Bool) throws -> String {
        guard knownISAs.contains(isa) else {
            throw ConvError.invalidShape("--isa \(isa): unknown; use one of \(knownISAs.joined(separator: ", "))")
        }
        if isa == "avx512" && !Blas.haveAVX512 {
            let lack =
                cpuHasAVX512
                ? "this CPU has AVX-512F but not all of BW, VL and DQ, which the kernels need"
                : "this CPU has no AVX-512F"
            throw ConvError.invalidShape("--isa avx512: \(lack); use \(availableISAs.joined(separator: " or "))")
        }
        guard availableISAs.contains(isa) else {
            throw ConvError.invalidShape(
                "--isa \(isa): this CPU lacks it; use \(availableISAs.joined(separator: " or "))")
        }
        return isa
    }

    public init(
        workspaceLimitBytes: Int = 2 << 20, winogradChunkBytes: Int = 256 << 10, isa: String = ConvOptions.bestISA,
        smallPatch: Bool = true, smallGemm: Bool = true, im2colSmallGemm: Bool = true,
        smallGemmMaxPanelFloats: Int = 96 * 1024, threading: String = "pool"
    ) {
        self.workspaceLimitBytes = max(4096, workspaceLimitBytes)
        self.winogradChunkBytes = max(4096, winogradChunkBytes)
        self.isa = isa
        self.smallPatch = smallPatch
        self.smallGemm = smallGemm
        self.im2colSmallGemm = im2colSmallGemm
        self.smallGemmMaxPanelFloats = smallGemmMaxPanelFloats
        self.threading = threading
    }

    /// Whether the AVX2 kernels may run: the CPU has them and the ISA is not capped below.
    /// (With `avx512` too: kernels without an AVX-512 variant run their AVX2 one.)
    public var avx2Kernels: Bool { Blas.haveSmallGemm && isa != "scalar" }

    /// The ISA of a kernel that has AVX-512 and AVX2 variants, under these options.
    public var wideKernelISA: String { byISA(avx512: "avx512", avx2: "avx2", scalar: "scalar") }

    /// Of a kernel's AVX-512, AVX2 and plain builds, the one these options run.
    public func byISA<T>(avx512: T, avx2: T, scalar: T) -> T {
        avx512Kernels ? avx512 : (avx2Kernels ? avx2 : scalar)
    }

    /// The ISA whose FMA peak is the roof of what runs under these options: the wider of the cap and
    /// OpenBLAS' own kernels, which the cap does not reach (under `--isa scalar` its AVX2 GEMMs still
    /// run: a scalar roof would put them ten times above it).
    public var roofISA: String { Self.wider(isa, Blas.vectorISA(ofCore: Blas.coreName)) }

    /// The wider of two ISA names (scalar < avx2 < avx512).
    static func wider(_ a: String, _ b: String) -> String {
        let rank = ["scalar": 0, "avx2": 1, "avx512": 2]
        return (rank[a] ?? 0) >= (rank[b] ?? 0) ? a : b
    }

    /// Whether the AVX-512 kernels run (the small GEMM, the pointwise kernel, the int8 GEMM):
    /// asked for, or the default, and the CPU has AVX-512F/BW/VL/DQ.
    public var avx512Kernels: Bool { Blas.haveAVX512 && isa == "avx512" }

    /// Every switch that changes which kernel runs, as text: part of `auto`'s cache key, so a
    /// choice timed with one setting is never reused under another.
    public var kernelKey: String {
        "isa=\(isa) patch=\(smallPatch ? 1 : 0) sgemm=\(smallGemm ? 1 : 0) im2col-sgemm=\(im2colSmallGemm ? 1 : 0) "
            + """
            panel=\(smallGemmMaxPanelFloats) ws=\(workspaceLimitBytes) wino=\(winogradChunkBytes) \
            nt=\(streamingStoreMinBytes) nt-inference=\(streamingStoreMinBytesAtInference) \
            wino-whole=\(winogradWholeLayerMaxBytes) threading=\(threading)
            """
    }

    /// Sizes the limits from the cache hierarchy: one worker's buffer is twice its L2 (the
    /// part GEMM is reading stays in L2 while the next rows are lowered), capped by the worker's
    /// share of the last-level cache. Measured on Zen 3 (512 KiB L2): 2×L2 beat both L2 and
    /// L3/workers by 10-40% on the lab's 3x3 layers (`cnnscope compare --workspace-limit`).
    /// A Winograd chunk's V and M get a quarter of one worker's L2, so that they stay there beside
    /// U and the GEMM's panels. Measured on Zen 4 (1 MiB L2, batch 64, two threads, alternated
    /// `compare` runs): against 2 MiB, 256 KiB took F(4x4,3x3) 0.84-0.91x the time on the 14x14
    /// and 16x16 layers and 0.91-1.0x on 7x7x64->128, and F(4x4,5x5) 0.55-0.64x; 384 and 512 KiB
    /// fell between, 64 and 128 KiB were no faster.
    public func sized(l2Bytes: Int?, l3Bytes: Int?, workers: Int) -> ConvOptions {
        let l2 = l2Bytes ?? (512 << 10)
        let share = (l3Bytes ?? (l2 * 8)) / max(1, workers)
        let limit = max(64 << 10, min(2 * l2, share))
        var o = self
        o.workspaceLimitBytes = limit
        o.winogradChunkBytes = max(64 << 10, min(l2 / 4, share))
        o.streamingStoreMinBytes = l2
        let l3 = max(l2, l3Bytes ?? l2 * 8)
        o.streamingStoreMinBytesAtInference = l3
        if o.winogradWholeLayerMaxBytes > 0 { o.winogradWholeLayerMaxBytes = l3 / 2 }
        return o
    }

    public static func sized(l2Bytes: Int?, l3Bytes: Int?, workers: Int) -> ConvOptions {
        ConvOptions().sized(l2Bytes: l2Bytes, l3Bytes: l3Bytes, workers: workers)
    }
}

/// One convolution algorithm for one layer shape (any batch up to the geometry's N).
/// Shapes: input NHWC (batch,H,W,C), weights HWIO (R,S,C,K), bias (K), output NHWC (batch,P,Q,K).
public protocol ConvolutionAlgorithm: AnyObject {
    var kind: ConvAlgorithmKind { get }
    var geometry: ConvGeometry { get }
    /// ReLU-like activation applied to the outputs while they are still in cache (max with the
    /// lower bound, min with the upper): saves the layer a pass over its output. nil: none.
    var outputClamp: ClosedRange<Float>? { get set }
    /// The instruction set its forward's main kernel runs here: "avx512", "avx2", "scalar" (plain
    /// code), or "openblas" (OpenBLAS' own choice for its CPU), for reports and `compare`.
    var kernelISA: String { get }
    /// Costs for a forward of the geometry's batch with `workers` workers.
    func cost(workers: Int) -> ConvCost
    /// `weightsVersion` changes whenever the weight values change (Winograd caches its
    /// transformed filters per version).
    func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>, weightsVersion: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner, observer: ConvStageObserver?)
}

extension ConvolutionAlgorithm {
    /// Checked forward over tensors: shapes are verified first (typed error, never a trap).
    public func forward(
        input: Tensor, weights: Tensor, weightsVersion: Int = 0, bias: Tensor?, output: Tensor,
        runner: ParallelRunner = SerialRunner(), observer: ConvStageObserver? = nil
    ) throws {
        try geometry.check(input: input, weights: weights, bias: bias, output: output)
        forward(
            input: input.data, batch: input.shape[0], weights: weights.data, weightsVersion: weightsVersion,
            bias: bias.map { UnsafePointer($0.data) }, output: output.data, runner: runner, observer: observer)
    }
}
