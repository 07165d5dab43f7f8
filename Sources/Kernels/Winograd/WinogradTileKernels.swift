// Per-tile Winograd transforms with the coefficients written out, vectorised over channels
// (input) or filters (output) eight at a time with SIMD8<Float>; a tail of fewer than eight
// uses partial loads and stores. WinogradTransform holds the same matrices (for the filter
// transform and the FLOP counts); the convolution tests check these kernels end to end against
// the Double reference convolution.

typealias V8 = SIMD8<Float>

@inline(__always)
func load8(_ p: UnsafePointer<Float>, _ n: Int) -> V8 {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: V8.self) }
    var v = V8()
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always)
func store8(_ v: V8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self); return }
    for i in 0..<n { p[i] = v[i] }
}

/// One Winograd variant's tile transforms.
protocol WinogradTileKernel {
    static var m: Int { get }
    static var alpha: Int { get }
    /// d: α² pointers to the C channels of each input pixel of the tile (a zero row where padded).
    /// Writes V[ξ] (C floats) at v + ξ·xiStride. scratch: α² V8.
    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch: UnsafeMutablePointer<V8>)
    /// M[ξ] (K floats) at mtx + ξ·xiStride. Writes rows×cols output pixels at out + i·rowStride + j·K.
    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch: UnsafeMutablePointer<V8>)
}

/// F(2x2,3x3): Bᵀ rows (d0−d2, d1+d2, d2−d1, d1−d3); Aᵀ rows (m0+m1+m2, m1−m2−m3).
enum WinogradF2Kernel: WinogradTileKernel {
    static var m: Int { 2 }
    static var alpha: Int { 4 }

    @inline(__always)
    static func bt(_ d0: V8, _ d1: V8, _ d2: V8, _ d3: V8) -> (V8, V8, V8, V8) {
        (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
    }

    @inline(__always)
    static func at(_ m0: V8, _ m1: V8, _ m2: V8, _ m3: V8) -> (V8, V8) {
        (m0 + m1 + m2, m1 - m2 - m3)
    }

    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        var cb = 0
        while cb < C {
            let n = min(8, C - cb)
            for j in 0..<4 {
                let (o0, o1, o2, o3) = bt(
                    load8(d[j] + cb, n), load8(d[4 + j] + cb, n),
                    load8(d[8 + j] + cb, n), load8(d[12 + j] + cb, n))
                s[j] = o0; s[4 + j] = o1; s[8 + j] = o2; s[12 + j] = o3
            }
            for i in 0..<4 {
                let (o0, o1, o2, o3) = bt(s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3])
                let base = v + (4 * i) * xiStride + cb
                store8(o0, base, n)
                store8(o1, base + xiStride, n)
                store8(o2, base + 2 * xiStride, n)
                store8(o3, base + 3 * xiStride, n)
            }
            cb += 8
        }
    }

    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        var kb = 0
        while kb < K {
            let n = min(8, K - kb)
            for j in 0..<4 {
                let p = mtx + j * xiStride + kb
                let (y0, y1) = at(
                    load8(p, n), load8(p + 4 * xiStride, n), load8(p + 8 * xiStride, n), load8(p + 12 * xiStride, n))
                s[j] = y0; s[4 + j] = y1
            }
            let b = bias.map { load8($0 + kb, n) } ?? V8()
            for i in 0..<rows {
                let (z0, z1) = at(s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3])
                let o = out + i * rowStride + kb
                store8(z0 + b, o, n)
                if cols > 1 { store8(z1 + b, o + K, n) }
            }
            kb += 8
        }
    }
}

/// F(4x4,3x3) with points 0, ±1, ±2, ∞ (Lavin & Gray).
enum WinogradF4Kernel: WinogradTileKernel {
    static var m: Int { 4 }
    static var alpha: Int { 6 }

    @inline(__always)
    static func bt(_ d0: V8, _ d1: V8, _ d2: V8, _ d3: V8, _ d4: V8, _ d5: V8) -> (V8, V8, V8, V8, V8, V8) {
        let s12: V8 = d1 + d2
        let s34: V8 = d3 + d4
        let t12: V8 = d1 - d2
        let t43: V8 = d4 - d3
        let t31: V8 = d3 - d1
        let t42: V8 = d4 - d2
        let o0: V8 = d0 * 4 - d2 * 5 + d4
        let o1: V8 = s34 - s12 * 4
        let o2: V8 = t43 + t12 * 4
        let o3: V8 = t42 + t31 * 2
        let o4: V8 = t42 - t31 * 2
        let o5: V8 = d1 * 4 - d3 * 5 + d5
        return (o0, o1, o2, o3, o4, o5)
    }

    @inline(__always)
    static func at(_ m0: V8, _ m1: V8, _ m2: V8, _ m3: V8, _ m4: V8, _ m5: V8) -> (V8, V8, V8, V8) {
        let a: V8 = m1 + m2
        let b: V8 = m3 + m4
        let c: V8 = m1 - m2
        let d: V8 = m3 - m4
        let y0: V8 = m0 + a + b
        let y1: V8 = c + d * 2
        let y2: V8 = a + b * 4
        let y3: V8 = c + d * 8 + m5
        return (y0, y1, y2, y3)
    }

    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        var cb = 0
        while cb < C {
            let n = min(8, C - cb)
            for j in 0..<6 {
                let (o0, o1, o2, o3, o4, o5) = bt(
                    load8(d[j] + cb, n), load8(d[6 + j] + cb, n), load8(d[12 + j] + cb, n),
                    load8(d[18 + j] + cb, n), load8(d[24 + j] + cb, n), load8(d[30 + j] + cb, n))
                s[j] = o0; s[6 + j] = o1; s[12 + j] = o2; s[18 + j] = o3; s[24 + j] = o4; s[30 + j] = o5
            }
            for i in 0..<6 {
                let r = s + 6 * i
                let (o0, o1, o2, o3, o4, o5) = bt(r[0], r[1], r[2], r[3], r[4], r[5])
                let base = v + (6 * i) * xiStride + cb
                store8(o0, base, n)
                store8(o1, base + xiStride, n)
                store8(o2, base + 2 * xiStride, n)
                store8(o3, base + 3 * xiStride, n)
                store8(o4, base + 4 * xiStride, n)
                store8(o5, base + 5 * xiStride, n)
            }
            cb += 8
        }
    }

    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        var kb = 0
        while kb < K {
            let n = min(8, K - kb)
            for j in 0..<6 {
                let p = mtx + j * xiStride + kb
                let x6 = 6 * xiStride
                let (y0, y1, y2, y3) = at(
                    load8(p, n), load8(p + x6, n), load8(p + 2 * x6, n),
                    load8(p + 3 * x6, n), load8(p + 4 * x6, n), load8(p + 5 * x6, n))
                s[j] = y0; s[6 + j] = y1; s[12 + j] = y2; s[18 + j] = y3
            }
            let b = bias.map { load8($0 + kb, n) } ?? V8()
            for i in 0..<rows {
                let r = s + 6 * i
                let (z0, z1, z2, z3) = at(r[0], r[1], r[2], r[3], r[4], r[5])
                let o = out + i * rowStride + kb
                store8(z0 + b, o, n)
                if cols > 1 { store8(z1 + b, o + K, n) }
                if cols > 2 { store8(z2 + b, o + 2 * K, n) }
                if cols > 3 { store8(z3 + b, o + 3 * K, n) }
            }
            kb += 8
        }
    }
}

/// F(2x2,5x5) with the same points as F(4x4,3x3): the input transform is F(4,3)'s; the output
/// transform Aᵀ is 2x6.
enum WinogradF2x5Kernel: WinogradTileKernel {
    static var m: Int { 2 }
    static var alpha: Int { 6 }

    @inline(__always)
    static func at(_ m0: V8, _ m1: V8, _ m2: V8, _ m3: V8, _ m4: V8, _ m5: V8) -> (V8, V8) {
        let y0: V8 = m0 + m1 + m2 + m3 + m4
        let y1: V8 = (m1 - m2) + (m3 - m4) * 2 + m5
        return (y0, y1)
    }

    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        WinogradF4Kernel.inputTile(d, channels: C, v: v, xiStride: xiStride, scratch: s)
    }

    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        var kb = 0
        while kb < K {
            let n = min(8, K - kb)
            for j in 0..<6 {
                let p = mtx + j * xiStride + kb
                let x6 = 6 * xiStride
                let (y0, y1) = at(
                    load8(p, n), load8(p + x6, n), load8(p + 2 * x6, n),
                    load8(p + 3 * x6, n), load8(p + 4 * x6, n), load8(p + 5 * x6, n))
                s[j] = y0; s[6 + j] = y1
            }
            let b = bias.map { load8($0 + kb, n) } ?? V8()
            for i in 0..<rows {
                let r = s + 6 * i
                let (z0, z1) = at(r[0], r[1], r[2], r[3], r[4], r[5])
                let o = out + i * rowStride + kb
                store8(z0 + b, o, n)
                if cols > 1 { store8(z1 + b, o + K, n) }
            }
            kb += 8
        }
    }
}

/// The tile transforms written from a transform's matrices (their nonzero entries) rather than
/// from factored formulas, for any α and m: the reference of F(3x3,2x2)'s output and of F(4x4,5x5),
/// whose C kernels factor the rows. scratch: α² V8.
enum WinogradMatrixTiles {
    // d: α² pixel pointers -> V[ξ] at v + ξ·xiStride, V = Bᵀ d B
    static func input(
        _ t: WinogradTransform, _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        let a = t.alpha, rows = t.btRows
        var cb = 0
        while cb < C {
            let n = min(8, C - cb)
            for j in 0..<a {  // columns: s[i][j] = Σ_l Bᵀ[i][l] d[l][j]
                for i in 0..<a {
                    var acc = V8()
                    for (l, c) in rows[i] { acc += load8(d[l * a + j] + cb, n) * c }
                    s[i * a + j] = acc
                }
            }
            for i in 0..<a {  // rows: V[i][k] = Σ_l s[i][l] Bᵀ[k][l]
                for k in 0..<a {
                    var acc = V8()
                    for (l, c) in rows[k] { acc += s[i * a + l] * c }
                    store8(acc, v + (a * i + k) * xiStride + cb, n)
                }
            }
            cb += 8
        }
    }

    // M[ξ] at mtx + ξ·xiStride -> Y = Aᵀ M A + bias, rows x cols pixels at out + i·rowStride + j·K
    static func output(
        _ t: WinogradTransform, _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int,
        bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        let a = t.alpha, at = t.atRows
        var kb = 0
        while kb < K {
            let n = min(8, K - kb)
            for j in 0..<a {  // columns: s[i][j] = Σ_l Aᵀ[i][l] M[l][j]
                for i in 0..<t.m {
                    var acc = V8()
                    for (l, c) in at[i] { acc += load8(mtx + (l * a + j) * xiStride + kb, n) * c }
                    s[i * a + j] = acc
                }
            }
            let b = bias.map { load8($0 + kb, n) } ?? V8()
            for i in 0..<rows {
                for k in 0..<cols {
                    var acc = V8()
                    for (l, c) in at[k] { acc += s[i * a + l] * c }
                    store8(acc + b, out + i * rowStride + k * K + kb, n)
                }
            }
            kb += 8
        }
    }
}

/// F(3x3,2x2) with F(2x2,3x3)'s points: its input transform, and Aᵀ rows (m0+m1+m2, m1−m2,
/// m1+m2−m3) applied from the matrix.
enum WinogradF3x2Kernel: WinogradTileKernel {
    static var m: Int { 3 }
    static var alpha: Int { 4 }

    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        WinogradF2Kernel.inputTile(d, channels: C, v: v, xiStride: xiStride, scratch: s)
    }

    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        WinogradMatrixTiles.output(
            .f3x2, mtx, xiStride: xiStride, filters: K, bias: bias, out: out, rowStride: rowStride, rows: rows,
            cols: cols, scratch: s)
    }
}

/// F(4x4,5x5) (α = 8), both transforms from the matrices.
enum WinogradF4x5Kernel: WinogradTileKernel {
    static var m: Int { 4 }
    static var alpha: Int { 8 }

    static func inputTile(
        _ d: UnsafePointer<UnsafePointer<Float>>, channels C: Int,
        v: UnsafeMutablePointer<Float>, xiStride: Int, scratch s: UnsafeMutablePointer<V8>
    ) {
        WinogradMatrixTiles.input(.f4x5, d, channels: C, v: v, xiStride: xiStride, scratch: s)
    }

    static func outputTile(
        _ mtx: UnsafePointer<Float>, xiStride: Int, filters K: Int, bias: UnsafePointer<Float>?,
        out: UnsafeMutablePointer<Float>, rowStride: Int, rows: Int, cols: Int,
        scratch s: UnsafeMutablePointer<V8>
    ) {
        WinogradMatrixTiles.output(
            .f4x5, mtx, xiStride: xiStride, filters: K, bias: bias, out: out, rowStride: rowStride, rows: rows,
            cols: cols, scratch: s)
    }
}
