import XCTest

@testable import Kernels

/// Each algorithm names the instruction set its main kernel runs under an ISA cap: what the
/// reports' and `compare`'s per-layer ISA column shows.
final class KernelISATests: XCTestCase {
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
