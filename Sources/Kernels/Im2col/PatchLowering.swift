// input NHWC (N,H,W,C) of T -> columns [rows, rowLength] of T, row m = the R·S·C receptive
// field of output pixel m (then rowLength − R·S·C elements left as they are)
/// im2col's lowering, for any element type: float for im2col (the int8 convolution lowers its
/// bytes with `cnns_lower_u8`, which the tests compare with this). Rows of the patch that lie
/// inside the image are copied with one memcpy per kernel row; when a kernel row is short
/// (S·C ≤ 16 elements, e.g. a first layer's C = 1), an inline element loop replaces the call.
/// `padding` fills taps outside the image (0, or a byte's zero point).
enum PatchLowering {
    @inline(__always)
    static func lower<T>(
        _ g: ConvGeometry, input: UnsafePointer<T>, rows: Range<Int>, into col: UnsafeMutablePointer<T>,
        rowLength: Int, padding: T
    ) {
        let C = g.c, PQ = g.p * g.q
        let SC = g.s * C
        let short = SC <= 16
        var dst = col
        // (n, p, q) of the first row by division, then stepped (no division per row).
        var n = rows.lowerBound / PQ
        var p = (rows.lowerBound - n * PQ) / g.q
        var q = rows.lowerBound - n * PQ - p * g.q
        for _ in rows {
            defer {
                q += 1
                if q == g.q { q = 0; p += 1; if p == g.p { p = 0; n += 1 } }
            }
            let ih0 = p * g.strideH - g.padTop, iw0 = q * g.strideW - g.padLeft
            let img = input + n * g.h * g.w * C
            let inside = iw0 >= 0 && iw0 + g.s <= g.w
            for r in 0..<g.r {
                let ih = ih0 + r
                let d = dst + r * SC
                if ih < 0 || ih >= g.h {
                    for i in 0..<SC { d[i] = padding }
                    continue
                }
                let rowBase = img + ih * g.w * C
                if inside {
                    let src = rowBase + iw0 * C
                    if short {
                        for i in 0..<SC { d[i] = src[i] }
                    } else {
                        d.update(from: src, count: SC)
                    }
                } else {
                    for s in 0..<g.s {
                        let iw = iw0 + s
                        if iw < 0 || iw >= g.w {
                            for c in 0..<C { d[s * C + c] = padding }
                        } else {
                            let src = rowBase + iw * C
                            for c in 0..<C { d[s * C + c] = src[c] }
                        }
                    }
                }
            }
            dst += rowLength
        }
    }
}
