import CKernels

/// The int8 convolution's declared costs, per path, by formula (modelled).
extension Int8Conv2D {
    /// The ISA of the kernel that computes the int32 sums: the Winograd kernel's where that path
    /// runs, else the int8 GEMM's (the direct kernel shares it).
    public var sumsISA: String { winograd ? winogradISA : gemmISA }

    /// The pixels whose int32 sums one forward pass of `batch` images computes, and the pixels a
    /// call's buffers hold: every output pixel; under fused 2x2 max pooling, the direct kernel's
    /// four per window, lowering's two whole output rows per pooled row.
    func summedPixels(batch: Int, pooled: Bool) -> (total: Int, perChunk: Int) {
        let g = geometry
        let (p2, q2) = (g.p / 2, g.q / 2)
        guard pooled else {
            let rows = batch * g.p * g.q
            return (rows, Swift.min(rowsPerChunk, rows))
        }
        if direct {
            let perRow = 4 * q2
            let group = Swift.max(1, Swift.min(batch * p2, rowsPerChunk / Swift.max(1, perRow)))
            return (batch * p2 * perRow, Self.pooledSmallFits(g) ? 0 : group * perRow)
        }
        return (batch * p2 * 2 * g.q, 2 * g.q)
    }

    /// What one forward pass of `batch` images costs on this layer's path, by formula (modelled),
    /// with `workers` workers; `pooled`: under the fused 2x2 max pooling (`forwardPooled2x2`).
    ///
    /// Integer operations are counted as float FLOPs are (a multiply-add is two), so the executed
    /// figure compares with the float algorithms':
    /// - direct and lowered: 2 per multiply-add the kernel runs, the patch padded to the kernel's
    ///   groups of 4 bytes (R·⌈S·C/4⌉·4 in place, ⌈R·S·C/4⌉·4 lowered; under pooling with column
    ///   quads, 4 per group: `cnns_qconv_quads_groups`) and K to its blocks of 8;
    /// - Winograd F(2x4,3x3) and F(2x4,5x5): 2·24·C'·K' and 2·48·C'·K' per 2x4 tile (⌈tx/2⌉ of them
    ///   a row of tx 2x2 tiles; C' even, K' a multiple of 16), plus the input and output transforms
    ///   counted as float Winograd counts them (a multiply and an add per non-zero coefficient: more
    ///   than the integer kernels' adds and shifts; the pass across the rows applies F(4x4,3x3)'s or
    ///   F(4x4,5x5)'s Bᵀ and Aᵀ, the pass down the columns F(2x2,3x3)'s or F(2x2,5x5)'s), plus, for
    ///   F(2x4,5x5), one multiply per point and channel to scale the sums; in the 8-bit domain
    ///   (`winogradU8`) C' is a multiple of 4 and each of a tile's four outputs takes one multiply
    ///   per channel to scale it; a 5x5 layer there is F(2x2,3x3) on four blocks of C' channels, with
    ///   four input transforms per tile and channel in the scalar reference, and in the vector build
    ///   one per patch of the extended grid each chunk reaches (`winogradInputTransforms`), and
    ///   skips the points where a sub-kernel's U is zero: 49 blocks of C' channels, not 64
    ///   (`winogradGEMMBlocks`).
    /// The quantising and dequantising passes (elementwise, like a bias) are not counted.
    /// Minimum traffic: the float input read, the int8 weights and the epilogue's two floats per
    /// channel read, the float output written. The path's own traffic adds, each written and read
    /// once: the quantised input, the column-quad copy, lowered rows, int32 sums, and Winograd's
    /// transformed tiles (int16, or bytes in the 8-bit domain), products (int32) and its transformed
    /// weights (int16 or bytes) once per chunk of tiles.
    public func cost(batch: Int, workers: Int, pooled: Bool = false) -> ConvCost {
        let g = geometry
        let n = Double(batch), C = Double(g.c), K = Double(g.k)
        let direct2 = ConvCost.direct(g) / Double(g.n) * n
        let inputFloats = n * Double(g.h * g.w) * C
        let outputFloats = pooled ? n * Double((g.p / 2) * (g.q / 2)) * K : n * Double(g.p * g.q) * K
        let minimum = 4 * inputFloats + Double(weightBytes) + 8 * K + 4 * outputFloats
        let padded = direct || winograd
        let quantizedBytes = padded ? n * Double(paddedExtent.h * paddedExtent.w) * C + 3 : inputFloats
        if winograd {
            // The 8-bit domain runs F(2x2,3x3), a 5x5 layer as four 3x3 sub-kernels (four blocks of channels);
            // the 16-bit kernels F(2x4,3x3) and F(2x4,5x5) run 2x4 tiles, counted as `tiles` here.
            let wide = !winogradU8, five16 = g.r == 5 && wide
            let subs = winogradU8 && g.r == 5 ? 4.0 : 1.0
            let a2 = wide ? winogradGEMMBlocks : 16
            let tiles = winogradTiles(batch: batch, pooled: pooled)
            let unit = winogradU8 ? 4 : 2  // channels per multiply-add group: byte quads or 16-bit pairs
            let cp = subs * Double((g.c + unit - 1) / unit * unit), kp = Double((g.k + 15) / 16 * 16)
            let scaling = winogradU8 ? tiles * 4 * K : five16 ? tiles * a2 * K : 0
            let elementBytes = winogradU8 ? 1.0 : 2.0
            // The transforms down the columns and across the rows of a tile.
            let rows: WinogradTransform = five16 ? .f2x5 : .f2x3
            var across = WinogradTransform.f2x3
            if wide { across = five16 ? .f4x5 : .f4x3 }
            // A pass of a transform matrix over each line of the other direction: 2 FLOPs a term.
            let inputFLOPs = 2 * Double(across.alpha * rows.nnzBT + rows.alpha * across.nnzBT)
            let outputFLOPs = 2 * Double(across.alpha * rows.nnzAT + rows.m * across.nnzAT)
            let executed =
                2 * winogradGEMMBlocks / subs * tiles * cp * kp
                + winogradInputTransforms(batch: batch, pooled: pooled) * C * inputFLOPs
                + tiles * K * outputFLOPs + scaling
            let T = tilesPerChunk(pooled: pooled)
            let work = winogradWorkspaceBytes(tiles: T, pooled: pooled)
            let sumsPerTile = pooled ? g.k : 4 * g.k
            let perWorker = Double((work / 4 + 16 + T * sumsPerTile) * 4)
            let shape = winogradShape(pooled: pooled)
            let chunks = (n * Double(shape.tiles_y * shape.tiles_x) / Double(T)).rounded(.up)
            let own =
                2 * quantizedBytes + 2 * tiles * a2 * (elementBytes * cp + 4 * kp)
                + chunks * a2 * cp * kp * elementBytes
            return ConvCost(
                directFLOPs: direct2, executedFLOPs: executed, oncePerWeightsFLOPs: 0,
                workspaceBytes: quantizedBytes + Double(workers) * perWorker, minimumTrafficBytes: minimum,
                algorithmTrafficBytes: minimum + own)
        }
        var shape = g.cShape
        let quads = pooled && columnQuads
        let patch: Int
        if quads {
            patch = 4 * Int(cnns_qconv_quads_groups(&shape))
        } else {
            patch = direct ? g.r * ((g.s * g.c + 3) / 4 * 4) : paddedLength
        }
        // The column-quad copy: four bytes a padded input pixel, written once and read by the kernel.
        let quadBytes = quads ? n * Double(paddedExtent.h * paddedExtent.w) * 4 : 0
        let kBlocks = Double((g.k + 7) / 8 * 8)
        let (pixels, perChunk) = summedPixels(batch: batch, pooled: pooled)
        let executed = 2 * Double(pixels) * kBlocks * Double(patch)
        let buffers = perChunk == 0 ? 0 : ((perChunk * paddedLength + 3) / 4 * 4 + perChunk * g.k * 4)
        // A 1x1 stride-1 layer with C a multiple of 4 reads the quantised input as its rows.
        let lowered = direct || Self.readsInputAsIs(g) ? 0 : 2 * Double(pixels) * Double(paddedLength)
        let sums = perChunk == 0 ? 0 : 2 * Double(pixels) * K * 4
        return ConvCost(
            directFLOPs: direct2, executedFLOPs: executed, oncePerWeightsFLOPs: 0,
            workspaceBytes: quantizedBytes + quadBytes + Double(workers * buffers), minimumTrafficBytes: minimum,
            algorithmTrafficBytes: minimum + 2 * quantizedBytes + 2 * quadBytes + lowered + sums)
    }

    /// The tiles the Winograd path's GEMMs run in one pass of `batch` images: 2x4 tiles for the 16-bit
    /// kernels (⌈tx/2⌉ a row of the grid of tx 2x2 tiles), 2x2 tiles in the 8-bit domain.
    public func winogradTiles(batch: Int, pooled: Bool) -> Double {
        let shape = winogradShape(pooled: pooled)
        let tx = Int(shape.tiles_x)
        return Double(batch * Int(shape.tiles_y) * (winogradU8 ? tx : (tx + 1) / 2))
    }

    /// How many patches the Winograd path transforms (per channel) in one pass of `batch` images:
    /// one per tile (per 2x4 tile for the 16-bit kernels, ⌈tx/2⌉ a row of the grid); four for a 5x5 layer in
    /// the 8-bit domain's scalar reference (one per sub-kernel), while its vector build transforms
    /// each entry of the extended grid (one more row and column per image) that a chunk of tiles
    /// reaches, once per chunk.
    public func winogradInputTransforms(batch: Int, pooled: Bool) -> Double {
        let shape = winogradShape(pooled: pooled)
        let ty = Int(shape.tiles_y), tx = Int(shape.tiles_x), tiles = batch * ty * tx
        guard winogradU8 && geometry.r == 5 else { return winogradTiles(batch: batch, pooled: pooled) }
        guard winogradISA == "avx512-vnni" else { return 4 * Double(tiles) }
        let gw = tx + 1, gh = ty + 1, T = tilesPerChunk(pooled: pooled)
        func entry(_ t: Int) -> Int { (t / (ty * tx) * gh + t % (ty * tx) / tx) * gw + t % tx }
        return stride(from: 0, to: tiles, by: T).reduce(0.0) { sum, t0 in
            sum + Double(entry(Swift.min(t0 + T, tiles) - 1) - entry(t0) + gw + 2)
        }
    }

    /// The (point, sub-kernel) blocks of C' channels the Winograd path's GEMMs run per tile: 24 and 48
    /// per 2x4 tile for F(2x4,3x3) and F(2x4,5x5); 16 per 2x2 tile in the 8-bit domain, and for a 5x5
    /// layer there 64 in the scalar reference and 49 in its vector build,
    /// which skips the points where U of an offset-2 sub-kernel (no first row, or no first column) is
    /// zero: 16 + 12 + 12 + 9.
    public var winogradGEMMBlocks: Double {
        guard winogradU8 else { return geometry.r == 5 ? Double(CNNS_QWINO5_POINTS) : 24 }
        guard geometry.r == 5 else { return 16 }
        return winogradISA == "avx512-vnni" ? 49 : 64
    }
}
