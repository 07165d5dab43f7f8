import Tensor

// input NHWC (N,H,W,C), weights HWIO (R,S,C,K), bias (K) -> output NHWC (N,P,Q,K), in Double
/// The reference every algorithm is checked against: accumulates in Double and also returns,
/// per output, the sum of |products| (the scale of the rounding error an algorithm may make).
public enum ReferenceConv2D {
    public struct Result {
        public var output: [Double]
        public var absSum: [Double]
    }

    /// Computes images 0..<images of the batch (all by default).
    public static func forward(
        _ g: ConvGeometry, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, images: Int? = nil
    ) -> Result {
        let nImg = images ?? g.n
        let count = nImg * g.p * g.q * g.k
        var out = [Double](repeating: 0, count: count)
        var abs = [Double](repeating: 0, count: count)
        var acc = [Double](repeating: 0, count: g.k)
        var accAbs = [Double](repeating: 0, count: g.k)
        for n in 0..<nImg {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    for k in 0..<g.k {
                        let b = Double(bias?[k] ?? 0)
                        acc[k] = b
                        accAbs[k] = Swift.abs(b)
                    }
                    for r in 0..<g.r {
                        let ih = p * g.strideH - g.padTop + r
                        if ih < 0 || ih >= g.h { continue }
                        for s in 0..<g.s {
                            let iw = q * g.strideW - g.padLeft + s
                            if iw < 0 || iw >= g.w { continue }
                            for c in 0..<g.c {
                                let x = Double(input[((n * g.h + ih) * g.w + iw) * g.c + c])
                                let wrow = weights + ((r * g.s + s) * g.c + c) * g.k
                                for k in 0..<g.k {
                                    let prod = x * Double(wrow[k])
                                    acc[k] += prod
                                    accAbs[k] += Swift.abs(prod)
                                }
                            }
                        }
                    }
                    let base = ((n * g.p + p) * g.q + q) * g.k
                    for k in 0..<g.k {
                        out[base + k] = acc[k]
                        abs[base + k] = accAbs[k]
                    }
                }
            }
        }
        return Result(output: out, absSum: abs)
    }
}
