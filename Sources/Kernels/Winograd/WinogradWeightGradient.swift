import CKernels
import Tensor

// input NHWC (N,H,W,C), dy NHWC (N,P,Q,K), stride 1
//   -> dW (r,r,C,K): dW[i][j][c][k] = Σ_{n,p,q} x[n, p+i−pt, q+j−pl, c] · dy[n,p,q,k];  db (K) = Σ dy
// The forward's tiles of m×m outputs; per chunk of tb tiles:
//   V[t][ξ][C] = Bᵀ X B    (the forward's input transform of the α×α input tile X)
//   D[t][ξ][K] = A δ Aᵀ    (δ: the tile's m×m of dy, zeros past P and Q; A = (Aᵀ)ᵀ)
//   Mw[ξ][C][K] += V[:,ξ]ᵀ · D[:,ξ]   (α² GEMMs reducing over the chunk's tiles, V[:,ξ] transposed
//                                     first so that they run on the small NN kernel; each worker its
//                                     own Mw)
// dW = Gᵀ (Σ_workers Mw) G
/// The weight gradient of a stride-1 convolution by Winograd's transforms, with the forward's
/// matrices: Σ_{p,q} δ[p][q]·y[p][q] = Σ_ξ (A δ Aᵀ)[ξ] (G g Gᵀ)[ξ] (Bᵀ X B)[ξ] for each tile, so
/// ∂/∂g = Gᵀ [Σ_tiles (A δ Aᵀ) ⊙ (Bᵀ X B)] G. Multiplications per output pixel and (c, k): α²/m²
/// instead of r² (F(2x2,3x3) 4 for 9, F(4x4,3x3) 2.25 for 9, F(2x2,5x5) 9 for 25). The transforms
/// round like the forward's, and so does the result (tests hold it to the forward's tolerance).
public final class WinogradWeightGradient {
    public let geometry: ConvGeometry
    public let transform: WinogradTransform
    public let options: ConvOptions
    private let workspace = Workspace()
    private let zeros: UnsafeMutablePointer<Float>
    /// A = (Aᵀ)ᵀ, α×m row-major, for the C dy transform.
    private let aDense: UnsafeMutablePointer<Float>

    public init(geometry: ConvGeometry, transform: WinogradTransform, options: ConvOptions) {
        self.geometry = geometry
        self.transform = transform
        self.options = options
        zeros = Tensor.allocate(max(geometry.c, 1))
        zeros.initialize(repeating: 0, count: max(geometry.c, 1))
        aDense = Tensor.allocate(transform.alpha * transform.m)
        for a in 0..<transform.alpha { for i in 0..<transform.m { aDense[a * transform.m + i] = transform.AT[i][a] } }
    }

    deinit {
        zeros.deallocate()
        aDense.deallocate()
    }

    /// Whether the transform applies: stride 1 and the transform's square kernel.
    public static func supports(_ g: ConvGeometry, transform: WinogradTransform) -> Bool {
        g.strideH == 1 && g.strideW == 1 && g.r == transform.r && g.s == transform.r
    }

    /// Floats between one tile's block of V or D and the next beyond the block itself: one cache line.
    static let tilePad = 16

    var tilesH: Int { (geometry.p + transform.m - 1) / transform.m }
    var tilesW: Int { (geometry.q + transform.m - 1) / transform.m }

    /// Tiles per chunk: V and D of a chunk within the forward's chunk budget (a quarter of one
    /// worker's L2 when the options are sized from the caches), so that the GEMMs read what the
    /// transforms wrote from L2; between 24 and 512 tiles. Measured on Zen 4 (1 MiB L2, batch 64,
    /// `cnnscope bench`): a 4 MiB budget (V and D in L3) left F(4x4,3x3) at 0.76-1.34x im2col's
    /// speed on two threads; 512 KiB gives 1.1-1.6x on every lab layer, 256 KiB and 1 MiB about the
    /// same.
    public var tilesPerChunk: Int {
        let a2 = transform.alpha * transform.alpha
        return min(512, max(24, options.winogradChunkBytes / (4 * a2 * (geometry.c + geometry.k))))
    }

    /// Executed FLOPs for `batch` images: the α² GEMMs, the input and dy transforms, and the final
    /// transform Gᵀ M G per (c, k).
    public func executedFLOPs(batch: Int) -> Double {
        let a2 = Double(transform.alpha * transform.alpha), a = Double(transform.alpha), m = Double(transform.m)
        let tiles = Double(batch * tilesH * tilesW), C = Double(geometry.c), K = Double(geometry.k)
        let nnzA = Double(transform.nnzAT)
        let dyTransform = 2 * (nnzA * m + a * nnzA) * tiles * K
        let final = 2 * Double(transform.r + transform.alpha) * Double(transform.nnzG) * C * K
        return 2 * a2 * tiles * C * K + tiles * C * transform.inputFLOPsPerTileChannel + dyTransform + final
    }

    /// Bytes of the transform domain for `batch` images: V and D written by the transforms and read
    /// by the GEMMs (α²·(C+K) floats per tile, each way).
    public func transformTrafficBytes(batch: Int) -> Double {
        let a2 = Double(transform.alpha * transform.alpha)
        return 2 * a2 * Double(batch * tilesH * tilesW) * Double(geometry.c + geometry.k) * 4
    }

    /// Workspace bytes with `workers` workers: each its V and D for a chunk (each tile's block padded) and its Mw.
    public func workspaceBytes(workers: Int) -> Double {
        let a2 = transform.alpha * transform.alpha
        let (C, K, tb) = (geometry.c, geometry.k, tilesPerChunk)
        let planes = tb * (a2 * (C + K) + 2 * Self.tilePad)
        let perWorker = planes + tb * C + transform.alpha * transform.m * K + a2 * C * K + K
        return Double(workers * perWorker) * 4
    }

    /// Overwrites dWeights (r, r, C, K) and dBias (K, when given).
    public func backward(
        input: UnsafePointer<Float>, batch: Int, dy: UnsafePointer<Float>, dWeights: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, runner: ParallelRunner
    ) {
        switch transform.variant {
        case 0: run(WinogradF2Kernel.self, input, batch, dy, dWeights, dBias, runner)
        case 1: run(WinogradF4Kernel.self, input, batch, dy, dWeights, dBias, runner)
        case 2: run(WinogradF2x5Kernel.self, input, batch, dy, dWeights, dBias, runner)
        case 3: run(WinogradF3x2Kernel.self, input, batch, dy, dWeights, dBias, runner)
        default: run(WinogradF4x5Kernel.self, input, batch, dy, dWeights, dBias, runner)
        }
    }

    private func run<T: WinogradTileKernel>(
        _: T.Type, _ input: UnsafePointer<Float>, _ batch: Int, _ dy: UnsafePointer<Float>,
        _ dW: UnsafeMutablePointer<Float>, _ dB: UnsafeMutablePointer<Float>?, _ runner: ParallelRunner
    ) {
        let g = geometry
        let C = g.c, K = g.k, a = transform.alpha, a2 = a * a, m = transform.m
        let tH = tilesH, tW = tilesW, perImage = tH * tW, total = batch * perImage
        let tbMax = min(tilesPerChunk, total)
        let partial = a2 * C * K + K
        // V and D tile-major: each tile's transforms write one contiguous block (tiles vT and dT floats
        // apart, ξ planes vX and dX apart within a tile). A tile's block is padded by a cache line:
        // unpadded, the rows of a GEMM's B = D[ξ] were a2·K floats apart, a multiple of 4 KiB for
        // F(4x4,5x5) or F(2x2,3x3) with K = 64, all in the same few L1 sets.
        let (vT, vX) = (a2 * C + Self.tilePad, C)
        let (dT, dX) = (a2 * K + Self.tilePad, K)
        workspace.reserve(workers: runner.width, floats: partial + tbMax * (vT + dT) + a * m * K + tbMax * C)
        for w in 0..<runner.width { workspace.buffer(w).update(repeating: 0, count: partial) }
        let zero = UnsafePointer(zeros)
        let tiles = WinogradTileTransforms(options)
        let A = UnsafePointer(aDense)
        // The C kernels under AVX2 or AVX-512 (the dy tile at 16 lanes with δ in registers), their
        // plain references under `--isa scalar`.
        let dyTile = options.byISA(
            avx512: cnns_wino_dy_tile_avx512, avx2: cnns_wino_dy_tile, scalar: cnns_wino_dy_tile_scalar)
        let transpose = options.avx2Kernels ? cnns_transpose : cnns_transpose_scalar
        let opts = options
        let blockedTN = Blas.blockedKernels(options)
        runner.parallelRanges(total, work: total * a2 * C * K) { worker, range in
            let buf = workspace.buffer(worker)
            let Mw = buf, db = buf + a2 * C * K
            let V = buf + partial, D = V + tbMax * vT, tmp = D + tbMax * dT, Vt = tmp + a * m * K
            let buffers = TileBuffers(count: a2)
            var t0 = range.lowerBound
            while t0 < range.upperBound {
                let tb = min(tbMax, range.upperBound - t0)
                for t in 0..<tb {
                    let tile = t0 + t
                    let n = tile / perImage, rem = tile - n * perImage
                    let th = rem / tW, tw = rem - th * tW
                    // V: the forward's input transform of the tile's α×α input (zeros where padded).
                    WinogradConv2D.inputTile(
                        T.self, g, m: m, tile: tile, tilesW: tW, input: input, zero: zero,
                        buffers: buffers, tiles: tiles, v: V + t * vT, xiStride: vX)
                    // D = A δ Aᵀ over the tile's m×m of dy (rows and columns past P, Q are zero), and db.
                    let p0 = th * m, q0 = tw * m
                    let rows = min(m, g.p - p0), cols = min(m, g.q - q0)
                    let d0 = dy + ((n * g.p + p0) * g.q + q0) * K
                    dyTile(
                        Int32(a), Int32(m), A, d0, g.q * K, Int32(rows), Int32(cols), Int32(K), D + t * dT, dX, tmp,
                        db)
                }
                // Mw[ξ] += V[:,ξ]ᵀ · D[:,ξ], reducing over the chunk's tiles. The blocked AVX-512 kernel
                // reads V[:,ξ] as a transposed A in place; otherwise V[:,ξ] is transposed (C × tb) for
                // the small NN kernel (OpenBLAS where the ISA or the panel size rules it out).
                for xi in 0..<a2 {
                    let mw = Mw + xi * C * K
                    if blockedTN {
                        Blas.blockedSgemm(
                            transA: true, m: C, n: K, k: tb, a: V + xi * vX, lda: vT, b: D + xi * dX, ldb: dT,
                            c: mw, ldc: K, accumulate: true, options: opts)
                        continue
                    }
                    transpose(V + xi * vX, Int32(tb), Int32(C), vT, Vt, tb)
                    // In blocks of 64 tiles: the block of D[ξ] (64 x K) stays in L1 while every row strip
                    // of Vt passes over it.
                    var k0 = 0
                    while k0 < tb {
                        let kb = min(64, tb - k0)
                        Blas.smallSgemm(
                            m: C, n: K, k: kb, a: Vt + k0, lda: tb, b: D + xi * dX + k0 * dT, ldb: dT,
                            c: mw, ldc: K, accumulate: true, options: opts)
                        k0 += kb
                    }
                }
                t0 += tb
            }
        }
        // Σ over workers (in ranges across the workers), then dW = Gᵀ M G per (c, k), vectorised over k.
        let M = workspace.buffer(0)
        if runner.width > 1 {
            let others = (1..<runner.width).map { workspace.buffer($0) }
            runner.parallelRanges(partial, work: partial * others.count) { _, range in
                for p in others {
                    for i in range { M[i] += p[i] }
                }
            }
        }
        if let dB { dB.update(from: M + a2 * C * K, count: K) }
        WinogradTransform.twoSided(
            transform.gtFlat, rows: transform.r, n: a, input: M, channels: C, filters: K, output: dW,
            options: options, runner: runner)
    }
}
