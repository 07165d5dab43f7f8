import CKernels
import Tensor

// `count` weight matrices (c, k) row-major, c·k floats apart -> each ceil(k/16) panels of c x 16
/// Weight matrices packed for the pointwise kernel (`cnns_pointwise_forward`): 16-column panels,
/// c x 16 floats each, the last zero-padded, 64-byte aligned. Im2col's 1x1 layers hold one matrix,
/// Winograd's large transform-domain GEMMs one per position ξ.
final class PackedWeightPanels {
    let c: Int, k: Int, count: Int
    /// Floats of one packed matrix.
    let floatsPerMatrix: Int
    private let base: UnsafeMutablePointer<Float>

    init(c: Int, k: Int, count: Int = 1) {
        self.c = c; self.k = k; self.count = count
        floatsPerMatrix = Self.floats(c: c, k: k)
        base = UnsafeMutableRawPointer.allocate(byteCount: 4 * floatsPerMatrix * count, alignment: 64)
            .bindMemory(to: Float.self, capacity: floatsPerMatrix * count)
    }

    deinit { base.deallocate() }

    /// Floats one c x k matrix takes packed.
    static func floats(c: Int, k: Int) -> Int { Int(cnns_pointwise_packed_floats(Int32(c), Int32(k))) }

    /// 16-column panels of a matrix with `k` columns (the kernel's column range is in panels).
    static func panels(k: Int) -> Int { (k + 15) / 16 }
    var panels: Int { Self.panels(k: k) }

    /// The pointwise kernel's C signature: c, k, input, packed, bias, clamp, lo, hi, output, m0, m1, j0, j1.
    typealias Kernel =
        @convention(c) (
            Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int32, Float, Float,
            UnsafeMutablePointer<Float>?, Int, Int, Int32, Int32
        ) -> Void

    /// The variant the options' ISA asks for: 12x32 AVX-512 tiles or 6x16 AVX2 ones (which fall
    /// back to plain C over the panels on a CPU without AVX2).
    static func kernel(_ options: ConvOptions) -> Kernel {
        options.avx512Kernels ? cnns_pointwise_forward_avx512 : cnns_pointwise_forward
    }

    /// Output rows `m` (pixels), column panels `j` of a 1x1 convolution: the packed kernel of the
    /// options' ISA on `panels` (matrix `matrix`), or, without packed panels (the scalar ISA), the
    /// plain C reference on the unpacked `weights` (c x k).
    static func pointwise(
        _ options: ConvOptions, panels: PackedWeightPanels?, matrix: Int = 0, weights: UnsafePointer<Float>,
        c: Int, k: Int, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?, clamp: ClosedRange<Float>?,
        output: UnsafeMutablePointer<Float>, rows m: Range<Int>, panels j: Range<Int>
    ) {
        let (clamps, lo, hi): (Int32, Float, Float) = clamp.map { (1, $0.lowerBound, $0.upperBound) } ?? (0, 0, 0)
        if let panels {
            kernel(options)(
                Int32(c), Int32(k), input, panels.matrix(matrix), bias, clamps, lo, hi, output, m.lowerBound,
                m.upperBound, Int32(j.lowerBound), Int32(j.upperBound))
        } else {
            cnns_pointwise_forward_scalar(
                Int32(c), Int32(k), input, weights, bias, clamps, lo, hi, output, m.lowerBound, m.upperBound,
                Int32(j.lowerBound), Int32(j.upperBound))
        }
    }

    /// Packed matrix `i`.
    func matrix(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(base + i * floatsPerMatrix) }

    /// Packs all `count` matrices of `source`, the matrices split across workers.
    func pack(_ source: UnsafePointer<Float>, runner: ParallelRunner) {
        runner.parallelRanges(count, work: count * c * k) { _, matrices in
            for i in matrices {
                cnns_pointwise_pack(Int32(c), Int32(k), source + i * c * k, base + i * floatsPerMatrix)
            }
        }
    }
}
