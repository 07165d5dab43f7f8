// input NHWC (N,H,W,C), kernel (R,S,C,1), bias (C) -> output NHWC (N,P,Q,C), in Double
/// The plain depthwise convolution the vectorised one is checked against: one output at a
/// time, accumulated in Double, with the sum of |products| as the error scale.
public enum ReferenceDepthwiseConv2D {
    public static func forward(
        _ g: ConvGeometry, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?
    ) -> ReferenceConv2D.Result {
        var out: [Double] = [], abs: [Double] = []
        out.reserveCapacity(g.n * g.p * g.q * g.c)
        for n in 0..<g.n {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    for c in 0..<g.c {
                        var acc = Double(bias?[c] ?? 0), accAbs = Swift.abs(acc)
                        for r in 0..<g.r {
                            let ih = p * g.strideH - g.padTop + r
                            guard ih >= 0 && ih < g.h else { continue }
                            for s in 0..<g.s {
                                let iw = q * g.strideW - g.padLeft + s
                                guard iw >= 0 && iw < g.w else { continue }
                                let x = Double(input[((n * g.h + ih) * g.w + iw) * g.c + c])
                                let w = Double(weights[(r * g.s + s) * g.c + c])
                                acc += x * w
                                accAbs += Swift.abs(x * w)
                            }
                        }
                        out.append(acc)
                        abs.append(accAbs)
                    }
                }
            }
        }
        return ReferenceConv2D.Result(output: out, absSum: abs)
    }
}
