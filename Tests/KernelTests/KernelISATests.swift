import XCTest

@testable import Kernels

/// Each algorithm names the instruction set its main kernel runs under an ISA cap: what the
/// reports' and `compare`'s per-layer ISA column shows.
final class KernelISATests: XCTestCase {
    /// The roof of what runs under a cap is the wider of the cap and OpenBLAS' own kernels, which the
    /// cap does not reach: under `--isa scalar` an AVX2 OpenBLAS still runs AVX2 GEMMs.
    func testTheRoofISAIsTheWiderOfTheCapAndOpenBLAS() {
        XCTAssertEqual(Blas.vectorISA(ofCore: "Haswell"), "avx2")
        XCTAssertEqual(Blas.vectorISA(ofCore: "Zen"), "avx2")
        XCTAssertEqual(Blas.vectorISA(ofCore: "SkylakeX"), "avx512")
        XCTAssertEqual(Blas.vectorISA(ofCore: "Prescott"), "scalar")
        XCTAssertEqual(ConvOptions.wider("scalar", "avx2"), "avx2")
        XCTAssertEqual(ConvOptions.wider("avx512", "avx2"), "avx512")
        XCTAssertEqual(ConvOptions.wider("avx2", "scalar"), "avx2")
        let blas = Blas.vectorISA(ofCore: Blas.coreName)
        for isa in ConvOptions.availableISAs {
            XCTAssertEqual(ConvOptions(isa: isa).roofISA, ConvOptions.wider(isa, blas), "cap \(isa), OpenBLAS \(blas)")
        }
    }

    func testAlgorithmsNameTheISATheyRun() throws {
        let pointwise = try ConvGeometry(n: 1, h: 7, w: 7, c: 160, k: 960, r: 1)
        let conv3 = try ConvGeometry(n: 8, h: 14, w: 14, c: 32, k: 64, r: 3)
        let wide = try ConvGeometry(n: 1, h: 14, w: 14, c: 512, k: 512, r: 3)
        for isa in ConvOptions.availableISAs {
            let o = ConvOptions(isa: isa)
            XCTAssertEqual(Im2colConv2D(geometry: pointwise, options: o).kernelISA, isa)
            XCTAssertEqual(
                WinogradConv2D(geometry: conv3, transform: .f4x3, options: o).kernelISA,
                isa == "scalar" ? "openblas" : isa)
            // 3x3x512 -> 512 (2.4 M floats of weights) is past the small GEMM's panel limit.
            XCTAssertEqual(Im2colConv2D(geometry: wide, options: o).kernelISA, "openblas")
            XCTAssertEqual(NaiveConv2D(geometry: conv3).kernelISA, "scalar")
        }
        XCTAssertEqual(ConvOptions.bestISA, ConvOptions.availableISAs.last)
        XCTAssertEqual(Int8Conv2D.gemmISA(cap: "scalar"), "scalar")
        if Blas.haveAVX512 {
            XCTAssertEqual(ConvOptions.bestISA, "avx512")
            XCTAssertEqual(Int8Conv2D.gemmISA(cap: "avx512"), Blas.haveAVX512VNNI ? "avx512-vnni" : "avx512")
        } else {
            XCTAssertThrowsError(try ConvOptions.checkISA("avx512", cpuHasAVX512: false))
        }
    }
}
