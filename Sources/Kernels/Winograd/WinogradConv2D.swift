import CKernels
import Tensor

// input NHWC (N,H,W,C), weights HWIO (r,r,C,K), bias (K) -> output NHWC (N,P,Q,K), stride 1
// tiles: T = N·ceil(P/m)·ceil(Q/m); per chunk of tb tiles:
//   V[tb][ξ][C] = Bᵀ d B   (ξ = 0..<α², input transform)
//   M[tb][ξ][K] = V[:,ξ] × U[ξ]   (α² GEMMs with rows α²·C and α²·K apart, U[ξ][C][K] = G g Gᵀ cached
//                                 per weights version; the small kernel, or the pointwise kernel on
//                                 packed U[ξ] when U[ξ] is large, then V[ξ][tb][C] and M[ξ][tb][K])
//   Y = Aᵀ M A + bias -> output (edge tiles clipped)
// whole layer (packed U, few tiles: runsWholeLayer): V[ξ][T][C] for every tile, then M[ξ][T][K]
//   = V[ξ] × U[ξ] split over (ξ, column panel pairs), then every output tile
/// Winograd F(2x2,3x3) and F(4x4,3x3) convolution for 3x3, F(2x2,5x5) and F(4x4,5x5) for 5x5 and
/// F(3x3,2x2) for 2x2 kernels, stride 1, any padding.
public final class WinogradConv2D: ConvolutionAlgorithm {
    public let geometry: ConvGeometry
    public let transform: WinogradTransform
    public let options: ConvOptions
    public var outputClamp: ClosedRange<Float>?
    /// Set by the layer before each forward: true when the next layer reads the output at once and
    /// nothing reads it later (an inference forward in a model). Such an output is written past the
    /// caches only from `options.streamingStoreMinBytesAtInference` (the L3); otherwise (training,
    /// or a convolution timed alone) from `options.streamingStoreMinBytes` (one worker's L2).
    public var outputReadNext = false
    public var kind: ConvAlgorithmKind { ConvAlgorithmKind(transform: transform) }

    private let workspace = Workspace()
    private var filters: UnsafeMutablePointer<Float>?
    private var filterKey: (UnsafePointer<Float>, Int)?
    /// U[ξ] packed for the pointwise kernel, when U[ξ] is too large for the small kernel
    /// (`usesPackedGemm`); packed with the filters, once per weights version.
    private lazy var packedFilters = PackedWeightPanels(
        c: geometry.c, k: geometry.k, count: transform.alpha * transform.alpha)
    private let zeros: UnsafeMutablePointer<Float>

    public init(geometry: ConvGeometry, transform: WinogradTransform, options: ConvOptions) {
        self.geometry = geometry
        self.transform = transform
        self.options = options
        zeros = Tensor.allocate(geometry.c)
        zeros.initialize(repeating: 0, count: geometry.c)
    }

    deinit {
        filters.map { $0.deallocate() }
        zeros.deallocate()
    }

    /// Whether the transform-domain GEMMs run on the pointwise kernel over packed U[ξ] panels:
    /// where U[ξ] (C·K floats) is larger than the small kernel takes, instead of OpenBLAS, which
    /// packs U[ξ] again at every call (α² calls per chunk of tiles; VGG16's 512-channel layers).
    public var usesPackedGemm: Bool {
        options.avx2Kernels && options.smallGemm && geometry.c * geometry.k > options.smallGemmMaxPanelFloats
    }

    /// The transform-domain GEMMs' ISA (the tile transforms run the options' ISA too: C kernels
    /// for AVX-512 or AVX2, the Swift reference under `scalar`).
    public var kernelISA: String {
        if usesPackedGemm { return options.wideKernelISA }
        let small =
            options.avx2Kernels && options.smallGemm && geometry.c * geometry.k <= options.smallGemmMaxPanelFloats
        return small ? options.wideKernelISA : "openblas"
    }

    public var tilesH: Int { (geometry.p + transform.m - 1) / transform.m }
    public var tilesW: Int { (geometry.q + transform.m - 1) / transform.m }

    /// Tiles per chunk: as many as keep one worker's V and M within the chunk budget, at least 8.
    /// Where the GEMMs run the AVX2 kernels (6-row blocks), rounded up to whole blocks: 8 tiles
    /// ran as two 4-row blocks and 9 as 6 + 3, each block reading U[ξ]'s panels again. Measured on
    /// Zen 3 (512 KiB L2, a budget of 128 KiB; a C harness of the chunk loop, 31 alternated runs):
    /// 12 tiles took the GEMMs of 14x14x64->128 at batch 64 1.15x (1.10-1.32) faster than 8,
    /// 14x14x32->64 1.12x faster than 9, 128->128 channels 1.20x; 18-36 tiles no faster than 12.
    public var tilesPerChunk: Int {
        let a2 = transform.alpha * transform.alpha
        let fit = max(8, options.winogradChunkBytes / (4 * a2 * (geometry.c + geometry.k)))
        let rows = options.byISA(avx512: 1, avx2: options.smallGemm ? Blas.avx2GemmRows : 1, scalar: 1)
        return (fit + rows - 1) / rows * rows
    }

    /// Whether a forward of `batch` images on `workers` runs the layer whole (`runsWholeLayer`'s
    /// three passes) instead of in chunks of tiles per worker: U is packed, the chunks would read
    /// it more than once per worker, and V and M for every tile fit `winogradWholeLayerMaxBytes`.
    public func runsWholeLayer(batch: Int, workers: Int) -> Bool {
        let total = batch * tilesH * tilesW
        let chunks = (total + tilesPerChunk - 1) / tilesPerChunk
        return usesPackedGemm && chunks > max(1, workers)
            && workerFloats(tiles: total) * 4 <= options.winogradWholeLayerMaxBytes
    }

    private func workerFloats(tiles tb: Int) -> Int {
        let a2 = transform.alpha * transform.alpha
        return a2 * tb * (geometry.c + geometry.k)
    }

    public func cost(workers: Int) -> ConvCost {
        let g = geometry
        let a2 = Double(transform.alpha * transform.alpha)
        let tiles = Double(g.n * tilesH * tilesW)
        let C = Double(g.c), K = Double(g.k)
        let gemm: Double = 2 * a2 * tiles * C * K
        let inT: Double = tiles * C * transform.inputFLOPsPerTileChannel
        let outT: Double = tiles * K * transform.outputFLOPsPerTileFilter
        let filt: Double = C * K * transform.filterFLOPsPerChannelFilter
        let whole = runsWholeLayer(batch: g.n, workers: workers)
        let tb = whole ? Int(tiles) : min(tilesPerChunk, Int(tiles) / max(1, workers) + 1)
        // Per-worker V and M (one shared set for a whole layer), U, and U again in packed panels
        // where the pointwise kernel runs the GEMMs.
        let packedU = usesPackedGemm ? Int(a2) * PackedWeightPanels.floats(c: g.c, k: g.k) : 0
        let ws = Double((whole ? 1 : workers) * workerFloats(tiles: tb) + Int(a2) * g.c * g.k + packedU) * 4
        let m = ConvCost.minimumTraffic(g)
        let chunks = (tiles / Double(tb)).rounded(.up)
        let own: Double = 2 * a2 * tiles * (C + K) * 4 + chunks * a2 * C * K * 4
        return ConvCost(
            directFLOPs: ConvCost.direct(g), executedFLOPs: gemm + inT + outT,
            oncePerWeightsFLOPs: filt, workspaceBytes: ws, minimumTrafficBytes: m,
            algorithmTrafficBytes: m + own)
    }

    /// U[ξ][C][K] = G g Gᵀ for every (c, k), vectorised over k, input channels split across
    /// workers (training changes the weights every step, so this runs every step: twice per
    /// layer with the flipped kernel of dX).
    func transformFilters(_ weights: UnsafePointer<Float>, runner: ParallelRunner = SerialRunner())
        -> UnsafeMutablePointer<Float>
    {
        let C = geometry.c, K = geometry.k, a = transform.alpha
        let u = filters ?? Tensor.allocate(a * a * C * K)
        filters = u
        WinogradTransform.twoSided(
            transform.gFlat, rows: a, n: transform.r, input: weights, channels: C, filters: K, output: u,
            options: options, runner: runner)
        return u
    }

    public func forward(
        input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>, weightsVersion: Int,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
        runner: ParallelRunner, observer: ConvStageObserver?
    ) {
        if filterKey == nil || filterKey!.0 != weights || filterKey!.1 != weightsVersion || filters == nil {
            observer?.stageBegan(.filterTransform, worker: 0)
            let u = transformFilters(weights, runner: runner)
            if usesPackedGemm { packedFilters.pack(u, runner: runner) }
            filterKey = (weights, weightsVersion)
            observer?.stageEnded(.filterTransform, worker: 0)
        }
        func go<T: WinogradTileKernel>(_ kernel: T.Type) {
            run(kernel, input: input, batch: batch, bias: bias, output: output, runner: runner, observer: observer)
        }
        switch transform.variant {
        case 0: go(WinogradF2Kernel.self)
        case 1: go(WinogradF4Kernel.self)
        case 2: go(WinogradF2x5Kernel.self)
        case 3: go(WinogradF3x2Kernel.self)
        default: go(WinogradF4x5Kernel.self)
        }
    }

    private func run<T: WinogradTileKernel>(
        _: T.Type, input: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, runner: ParallelRunner,
        observer: ConvStageObserver?
    ) {
        if runsWholeLayer(batch: batch, workers: runner.width) {
            runWholeLayer(
                T.self, input: input, batch: batch, bias: bias, output: output, runner: runner,
                observer: observer)
            return
        }
        let g = geometry
        let C = g.c, K = g.k, a = T.alpha, a2 = a * a, m = T.m
        let U = UnsafePointer(filters!)
        let packed = usesPackedGemm ? packedFilters : nil
        let tH = tilesH, tW = tilesW, perImage = tH * tW
        let total = batch * perImage
        let chunk = tilesPerChunk
        // A small job may run whole on worker 0 (parallelRanges' work hint), so every worker's
        // buffer holds a full chunk of min(chunk, total) tiles, not just its share.
        let tbMax = min(chunk, total)
        workspace.reserve(workers: runner.width, floats: workerFloats(tiles: tbMax))
        let zero = UnsafePointer(zeros)
        let flags = outputFlags(batch: batch)
        let tiles = WinogradTileTransforms(options)
        let packedKernel = PackedWeightPanels.kernel(options)
        // V and M tile-major ([t][ξ][·]): each tile's transforms read and write one contiguous
        // block, and the α² GEMMs take strided rows. The packed kernel's rows are contiguous, so
        // there V and M stay ξ-major ([ξ][t][·]).
        let tileMajor = packed == nil

        runner.parallelRanges(total, work: total * a2 * C * K) { worker, range in
            let buf = workspace.buffer(worker)
            let buffers = TileBuffers(count: a2)
            let scratch = buffers.scratch
            var t0 = range.lowerBound
            while t0 < range.upperBound {
                let tb = min(chunk, range.upperBound - t0)
                assert(workerFloats(tiles: tb) <= workspace.capacity(worker), "Winograd workspace overflow")
                let V = buf
                let M = buf + a2 * tb * C
                let (vT, vX) = tileMajor ? (a2 * C, C) : (C, tb * C)
                let (mT, mX) = tileMajor ? (a2 * K, K) : (K, tb * K)

                // Input transform: V[t][ξ][:] = (Bᵀ d B)[ξ], d read in place (zeros where padded).
                observer?.stageBegan(.inputTransform, worker: worker)
                for t in 0..<tb {
                    Self.inputTile(
                        T.self, g, m: m, tile: t0 + t, tilesW: tW, input: input, zero: zero,
                        buffers: buffers, tiles: tiles, v: V + t * vT, xiStride: vX)
                }
                observer?.stageEnded(.inputTransform, worker: worker)

                observer?.stageBegan(.gemm, worker: worker)
                if let packed {
                    for xi in 0..<a2 {
                        packedKernel(
                            Int32(C), Int32(K), V + xi * tb * C, packed.matrix(xi), nil, 0, 0, 0,
                            M + xi * tb * K, 0, tb, 0, Int32(packed.panels))
                    }
                } else {
                    for xi in 0..<a2 {
                        Blas.smallSgemm(
                            m: tb, n: K, k: C, a: V + xi * vX, lda: vT, b: U + xi * C * K, ldb: K,
                            c: M + xi * mX, ldc: mT, options: options)
                    }
                }
                observer?.stageEnded(.gemm, worker: worker)

                // Output transform: Y = Aᵀ M A + bias, clipped at the edges.
                observer?.stageBegan(.outputTransform, worker: worker)
                for t in 0..<tb {
                    outputTile(
                        T.self, tile: t0 + t, m: M + t * mT, xiStride: mX, bias: bias, output: output,
                        tiles: tiles, flags: flags, scratch: scratch)
                }
                observer?.stageEnded(.outputTransform, worker: worker)
                t0 += tb
            }
        }
    }

    /// The output transform's flags for a forward of `batch` images: clamp where the layer clamps;
    /// stream past the caches from one worker's L2, or, for an inference output the next layer
    /// reads at once, from the L3.
    private func outputFlags(batch: Int) -> Int32 {
        let g = geometry
        let streamFrom = outputReadNext ? options.streamingStoreMinBytesAtInference : options.streamingStoreMinBytes
        let streams = batch * g.p * g.q * g.k * 4 >= streamFrom
        return (outputClamp != nil ? CNNS_WINO_CLAMP : 0) | (streams ? CNNS_WINO_STREAM : 0)
    }

    /// Writes output tile `tile` (numbered over the batch): Y = Aᵀ M A + bias from its α² vectors
    /// of K at m + ξ·xiStride, clipped at the map's edges, clamped where the layer clamps.
    private func outputTile<T: WinogradTileKernel>(
        _: T.Type, tile: Int, m M: UnsafeMutablePointer<Float>, xiStride mX: Int, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, tiles: WinogradTileTransforms?, flags: Int32,
        scratch: UnsafeMutablePointer<V8>
    ) {
        let g = geometry, K = g.k, m = T.m, tW = tilesW, perImage = tilesH * tilesW
        let lo = outputClamp?.lowerBound ?? 0, hi = outputClamp?.upperBound ?? 0
        let n = tile / perImage, rem = tile - n * perImage
        let th = rem / tW, tw = rem - th * tW
        let y = th * m, x = tw * m
        let o = output + ((n * g.p + y) * g.q + x) * K
        let rows = min(m, g.p - y), cols = min(m, g.q - x)
        if let tiles {
            tiles.output(
                transform.variant, M, mX, Int32(K), bias, flags, lo, hi, o, g.q * K, Int32(rows), Int32(cols))
            return
        }
        T.outputTile(
            M, xiStride: mX, filters: K, bias: bias, out: o, rowStride: g.q * K, rows: rows, cols: cols,
            scratch: scratch)
        if outputClamp != nil {
            for i in 0..<rows {
                let r = o + i * g.q * K
                for j in 0..<(cols * K) { r[j] = Swift.min(Swift.max(r[j], lo), hi) }
            }
        }
    }

    /// The layer whole, in three passes over all `batch` images' tiles, each split across the
    /// workers: V[ξ][t][C] for every tile; then M[ξ][t][K] = V[ξ] × U[ξ] on the pointwise kernel,
    /// the work split by (ξ, pair of 16-column panels), so each worker streams its share of the
    /// packed U once; then every output tile. One shared V and M (`runsWholeLayer` bounds them).
    private func runWholeLayer<T: WinogradTileKernel>(
        _: T.Type, input: UnsafePointer<Float>, batch: Int, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, runner: ParallelRunner, observer: ConvStageObserver?
    ) {
        let g = geometry
        let C = g.c, K = g.k, a2 = T.alpha * T.alpha, m = T.m
        let total = batch * tilesH * tilesW
        let packed = packedFilters
        workspace.reserve(workers: 1, floats: workerFloats(tiles: total))
        let V = workspace.buffer(0), M = V + a2 * total * C
        let zero = UnsafePointer(zeros)
        let flags = outputFlags(batch: batch)
        let tiles = WinogradTileTransforms(options)
        let packedKernel = PackedWeightPanels.kernel(options)
        let tW = tilesW

        runner.parallelRanges(total, work: total * a2 * C * 16) { worker, range in
            let buffers = TileBuffers(count: a2)
            observer?.stageBegan(.inputTransform, worker: worker)
            for t in range {
                Self.inputTile(
                    T.self, g, m: m, tile: t, tilesW: tW, input: input, zero: zero, buffers: buffers, tiles: tiles,
                    v: V + t * C, xiStride: total * C)
            }
            observer?.stageEnded(.inputTransform, worker: worker)
        }
        let pairs = (packed.panels + 1) / 2
        runner.parallelRanges(a2 * pairs, work: total * a2 * C * K) { worker, range in
            observer?.stageBegan(.gemm, worker: worker)
            var u = range.lowerBound
            while u < range.upperBound {
                let xi = u / pairs, p0 = u - xi * pairs
                let p1 = min(pairs, p0 + (range.upperBound - u))
                packedKernel(
                    Int32(C), Int32(K), V + xi * total * C, packed.matrix(xi), nil, 0, 0, 0, M + xi * total * K, 0,
                    total, Int32(2 * p0), Int32(min(packed.panels, 2 * p1)))
                u += p1 - p0
            }
            observer?.stageEnded(.gemm, worker: worker)
        }
        runner.parallelRanges(total, work: total * a2 * K * 16) { worker, range in
            let buffers = TileBuffers(count: a2)
            observer?.stageBegan(.outputTransform, worker: worker)
            for t in range {
                outputTile(
                    T.self, tile: t, m: M + t * K, xiStride: total * K, bias: bias, output: output, tiles: tiles,
                    flags: flags, scratch: buffers.scratch)
            }
            observer?.stageEnded(.outputTransform, worker: worker)
        }
    }

    /// Points buffers.ptrs[i·α + j] at the C channels of input pixel (i, j) of tile `tile` (numbered over
    /// the batch, `tilesW` per tile row; a row of zeros where padded) and writes its transform
    /// V[ξ] = (Bᵀ d B)[ξ] at v + ξ·xiStride: the C kernel of the options' ISA, or the Swift one.
    static func inputTile<T: WinogradTileKernel>(
        _: T.Type, _ g: ConvGeometry, m: Int, tile: Int, tilesW tW: Int, input: UnsafePointer<Float>,
        zero: UnsafePointer<Float>, buffers: TileBuffers, tiles: WinogradTileTransforms?,
        v: UnsafeMutablePointer<Float>,
        xiStride: Int
    ) {
        let ptrs = buffers.ptrs
        let a = T.alpha, perImage = ((g.p + m - 1) / m) * tW
        let n = tile / perImage, rem = tile - n * perImage
        let th = rem / tW, tw = rem - th * tW
        let y0 = th * m - g.padTop, x0 = tw * m - g.padLeft
        let img = input + n * g.h * g.w * g.c
        for i in 0..<a {
            let y = y0 + i
            let rowOK = y >= 0 && y < g.h
            for j in 0..<a {
                let x = x0 + j
                ptrs[i * a + j] = (rowOK && x >= 0 && x < g.w) ? img + (y * g.w + x) * g.c : zero
            }
        }
        if let tiles {
            UnsafeRawPointer(ptrs).withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: a * a) {
                tiles.input(Int32(a), $0, Int32(g.c), v, xiStride)
            }
        } else {
            T.inputTile(ptrs, channels: g.c, v: v, xiStride: xiStride, scratch: buffers.scratch)
        }
    }
}

/// One worker's buffers for the tile transforms: α² input-pixel pointers (`inputTile`) and α²
/// vectors of scratch for the Swift transforms; freed with the object.
final class TileBuffers {
    let ptrs: UnsafeMutablePointer<UnsafePointer<Float>>
    let scratch: UnsafeMutablePointer<V8>

    init(count: Int) {
        ptrs = .allocate(capacity: count)
        scratch = .allocate(capacity: count)
    }

    deinit { ptrs.deallocate(); scratch.deallocate() }
}
