import CKernels

/// The C tile transforms (`cnns_wino_input_tile_*`, `cnns_wino_output_tile_*`) for the options'
/// ISA: AVX-512 at 16 lanes, AVX2+FMA at 8; nil under `--isa scalar` or without AVX2, where the
/// Swift kernels (`WinogradTileKernel`, the plain reference) run. The output kernel's flags:
/// `CNNS_WINO_CLAMP`, `CNNS_WINO_STREAM` (non-temporal stores).
struct WinogradTileTransforms {
    typealias Input =
        @convention(c) (
            Int32, UnsafePointer<UnsafePointer<Float>?>?, Int32, UnsafeMutablePointer<Float>?, Int
        ) -> Void
    typealias Output =
        @convention(c) (
            Int32, UnsafePointer<Float>?, Int, Int32, UnsafePointer<Float>?, Int32, Float, Float,
            UnsafeMutablePointer<Float>?, Int, Int32, Int32
        ) -> Void

    let input: Input
    let output: Output

    init?(_ options: ConvOptions) {
        if options.avx512Kernels {
            (input, output) = (cnns_wino_input_tile_avx512, cnns_wino_output_tile_avx512)
        } else if options.avx2Kernels {
            (input, output) = (cnns_wino_input_tile_avx2, cnns_wino_output_tile_avx2)
        } else {
            return nil
        }
    }
}
