import CKernels

// window x (k x k pixels, C channels; rows rowStride floats apart) -> y (C), argmax (C bytes)
/// Max pooling with the argmax kept as a byte per output (`cnns_maxpool_argmax_forward`,
/// `cnns_maxpool_route`; AVX2 with a scalar fallback, and 16-lane AVX-512 variants, all giving the
/// same results): backward then reads the gradient and a byte per output instead of the pooling
/// layer's input and output. `wide`: the AVX-512 variants (`ConvOptions.avx512Kernels`).
public enum MaxPoolArgmax {
    /// Largest window side: positions 0..<k² must fit a byte, with 255 left for "no gradient".
    public static let maxWindow = 15

    /// `windows` side-by-side k x k windows of one row, starting at x (each k·C floats further).
    @inline(__always)
    public static func forward(
        windows: Int, from x: UnsafePointer<Float>, rowStride: Int, k: Int, channels: Int,
        y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<UInt8>, relu: Bool, wide: Bool = false
    ) {
        let kernel = wide ? cnns_maxpool_argmax_forward_row_avx512 : cnns_maxpool_argmax_forward_row
        kernel(x, rowStride, Int32(k), Int32(channels), Int32(windows), y, argmax, relu ? 1 : 0)
    }

    @inline(__always)
    public static func route(
        windows: Int, argmax: UnsafePointer<UInt8>, gradient g: UnsafePointer<Float>,
        into dx: UnsafeMutablePointer<Float>, rowStride: Int, k: Int, channels: Int, wide: Bool = false
    ) {
        let kernel = wide ? cnns_maxpool_route_row_avx512 : cnns_maxpool_route_row
        kernel(argmax, g, dx, rowStride, Int32(k), Int32(channels), Int32(windows))
    }
}
