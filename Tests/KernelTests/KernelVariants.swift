import CKernels
import XCTest

@testable import Kernels

/// The variants of each hand-written kernel a test runs on this machine, by name. The 16-lane
/// AVX-512 code also runs as `w16` (the same source compiled for AVX2, or portable C), so its
/// tiles, tails and packing are checked on every machine; the real AVX-512 build runs only where
/// the CPU has AVX-512F/BW/VL/DQ, and a test that cannot run it says so once.
enum KernelVariants {
    typealias Sgemm =
        @convention(c) (
            Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?,
            Int32, Int32
        ) -> Void
    typealias QGemm =
        @convention(c) (
            Int32, Int32, Int32, UnsafePointer<UInt8>?, Int32, UnsafePointer<Int8>?, UnsafeMutablePointer<Int32>?, Int32
        ) -> Void
    typealias Pointwise = PackedWeightPanels.Kernel

    static var sgemm: [(String, Sgemm)] {
        var v: [(String, Sgemm)] = [("w16", cnns_sgemm_nn_w16)]
        if Blas.haveSmallGemm { v += [("avx2", cnns_sgemm_nn_avx2), ("avx2 panels", cnns_sgemm_panels_avx2)] }
        if Blas.haveAVX512 { v.append(("avx512", cnns_sgemm_nn_avx512)) }
        return v
    }

    typealias BlockedSgemm =
        @convention(c) (
            Int32, Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?, Int32, Int32
        ) -> Void
    typealias SgemmNT =
        @convention(c) (
            Int32, Int32, Int32, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            UnsafeMutablePointer<Float>?, Int32, Int32, UnsafeMutablePointer<Float>?
        ) -> Void

    /// The Dense layers' blocked GEMMs (NN and TN) and the NT one: 16-lane code only.
    static var blockedSgemm: [(String, BlockedSgemm, SgemmNT)] {
        var v: [(String, BlockedSgemm, SgemmNT)] = [("w16", cnns_sgemm_blocked_w16, cnns_sgemm_nt_w16)]
        if Blas.haveAVX512 { v.append(("avx512", cnns_sgemm_blocked_avx512, cnns_sgemm_nt_avx512)) }
        return v
    }

    static var pointwise: [(String, Pointwise)] {
        var v: [(String, Pointwise)] = [("avx2-or-plain", cnns_pointwise_forward), ("w16", cnns_pointwise_forward_w16)]
        if Blas.haveAVX512 { v.append(("avx512", cnns_pointwise_forward_avx512)) }
        return v
    }

    static var qgemm: [(String, QGemm)] {
        var v: [(String, QGemm)] = [("avx2-or-plain", cnns_qgemm_u7s8), ("w16", cnns_qgemm_u7s8_w16)]
        if Blas.haveAVX512 { v.append(("avx512", cnns_qgemm_u7s8_avx512)) }
        if Blas.haveAVX512VNNI { v.append(("avx512-vnni", cnns_qgemm_u7s8_avx512vnni)) }
        return v
    }

    typealias QConvDirect = Int8Conv2D.DirectKernel

    /// The direct int8 convolution's builds (the scalar reference is not among them).
    static var qconvDirect: [(String, QConvDirect)] {
        var v: [(String, QConvDirect)] = [
            ("avx2-or-plain", cnns_qconv_direct_u7s8), ("w16", cnns_qconv_direct_u7s8_w16),
        ]
        if Blas.haveAVX512 { v.append(("avx512", cnns_qconv_direct_u7s8_avx512)) }
        if Blas.haveAVX512VNNI { v.append(("avx512-vnni", cnns_qconv_direct_u7s8_avx512vnni)) }
        return v
    }

    /// The pooled direct int8 convolution's builds (the scalar reference is not among them).
    static var qconvDirectPooled: [(String, QConvDirect)] {
        var v: [(String, QConvDirect)] = [
            ("avx2-or-plain", cnns_qconv_direct_pooled_u7s8), ("w16", cnns_qconv_direct_pooled_u7s8_w16),
        ]
        if Blas.haveAVX512 { v.append(("avx512", cnns_qconv_direct_pooled_u7s8_avx512)) }
        if Blas.haveAVX512VNNI { v.append(("avx512-vnni", cnns_qconv_direct_pooled_u7s8_avx512vnni)) }
        return v
    }

    static var winogradTiles: [(String, WinogradTileTransforms.Input, WinogradTileTransforms.Output)] {
        var v: [(String, WinogradTileTransforms.Input, WinogradTileTransforms.Output)] = [
            ("w16", cnns_wino_input_tile_w16, cnns_wino_output_tile_w16)
        ]
        if Blas.haveSmallGemm { v.append(("avx2", cnns_wino_input_tile_avx2, cnns_wino_output_tile_avx2)) }
        if Blas.haveAVX512 { v.append(("avx512", cnns_wino_input_tile_avx512, cnns_wino_output_tile_avx512)) }
        return v
    }

    typealias DyTile =
        @convention(c) (
            Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int32, Int32, Int32,
            UnsafeMutablePointer<Float>?, Int, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?
        ) -> Void
    typealias TwoSided =
        @convention(c) (
            Int32, Int32, UnsafePointer<Float>?, UnsafePointer<Float>?, Int32, Int32, Int32, Int32,
            UnsafeMutablePointer<Float>?
        ) -> Void

    /// The Winograd weight gradient's dy tile kernels, the plain C reference first.
    static var winogradDyTile: [(String, DyTile)] {
        var v: [(String, DyTile)] = [("scalar", cnns_wino_dy_tile_scalar), ("w16", cnns_wino_dy_tile_w16)]
        if Blas.haveSmallGemm { v.append(("avx2", cnns_wino_dy_tile)) }
        if Blas.haveAVX512 { v.append(("avx512", cnns_wino_dy_tile_avx512)) }
        return v
    }

    /// The two-sided transform's kernels, the plain C reference first.
    static var winogradTwoSided: [(String, TwoSided)] {
        var v: [(String, TwoSided)] = [
            ("scalar", cnns_winograd_two_sided_scalar), ("w16", cnns_winograd_two_sided_w16),
        ]
        if Blas.haveSmallGemm { v.append(("avx2", cnns_winograd_two_sided)) }
        if Blas.haveAVX512 { v.append(("avx512", cnns_winograd_two_sided_avx512)) }
        return v
    }

    /// The depthwise forward kernels, the plain C reference first.
    static var depthwise: [(String, DepthwiseConv2D.Kernel)] {
        var v: [(String, DepthwiseConv2D.Kernel)] = [
            ("scalar", cnns_depthwise_forward_scalar), ("w16", cnns_depthwise_forward_w16),
        ]
        if Blas.haveSmallGemm { v.append(("avx2", cnns_depthwise_forward_avx2)) }
        if Blas.haveAVX512 { v.append(("avx512", cnns_depthwise_forward_avx512)) }
        return v
    }

    typealias MaxPoolForward =
        @convention(c) (
            UnsafePointer<Float>?, Int, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<UInt8>?,
            Int32
        ) -> Void
    typealias MaxPoolRoute =
        @convention(c) (
            UnsafePointer<UInt8>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int32, Int32, Int32
        ) -> Void

    /// The 16-lane max-pooling row kernels (the AVX2 one is tested against the scalar directly).
    static var maxPool: [(String, MaxPoolForward, MaxPoolRoute)] {
        var v: [(String, MaxPoolForward, MaxPoolRoute)] = [
            ("w16", cnns_maxpool_argmax_forward_row_w16, cnns_maxpool_route_row_w16)
        ]
        if Blas.haveAVX512 {
            v.append(("avx512", cnns_maxpool_argmax_forward_row_avx512, cnns_maxpool_route_row_avx512))
        }
        return v
    }

    typealias SmallPatchForward = Im2colConv2D.SmallPatchForward
    typealias SmallPatchWeights = Im2colConv2DBackward.SmallPatchWeights

    /// The small-patch forward and weight-gradient kernels, the plain C reference first.
    static var smallPatch: [(String, SmallPatchForward, SmallPatchWeights)] {
        var v: [(String, SmallPatchForward, SmallPatchWeights)] = [
            ("scalar", cnns_conv_small_patch_forward_scalar, cnns_conv_small_patch_dweights_scalar),
            ("w16", cnns_conv_small_patch_forward_w16, cnns_conv_small_patch_dweights_w16),
        ]
        if Blas.haveSmallGemm { v.append(("avx2", cnns_conv_small_patch_forward, cnns_conv_small_patch_dweights)) }
        if Blas.haveAVX512 {
            v.append(("avx512", cnns_conv_small_patch_forward_avx512, cnns_conv_small_patch_dweights_avx512))
        }
        return v
    }

    /// The vector builds of the fused small-patch convolution + pooling, by CNNS_SP_* variant.
    static var smallPatchBuilds: [(String, Int32)] {
        var v: [(String, Int32)] = [("w16", CNNS_SP_W16)]
        if Blas.haveSmallGemm { v.append(("avx2", CNNS_SP_AVX2)) }
        if Blas.haveAVX512 { v.append(("avx512", CNNS_SP_AVX512)) }
        return v
    }

    /// The line a test prints about the ISAs it could not run here.
    static func notRunHere(_ test: String) {
        var missing: [String] = []
        if !Blas.haveSmallGemm { missing.append("AVX2+FMA") }
        if !Blas.haveAVX512 { missing.append("AVX-512F/BW/VL/DQ") }
        if !Blas.haveAVX512VNNI { missing.append("AVX-512 VNNI") }
        if missing.isEmpty { return }
        print(
            """
            \(test): this CPU lacks \(missing.joined(separator: ", ")): those builds of the kernels did not run \
            here; their 16-lane code ran as w16 (compiled for AVX2 or plain C) instead
            """)
    }
}
