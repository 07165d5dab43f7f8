import Tensor
import XCTest

@testable import Kernels

/// The pointwise (1x1 stride 1) kernel of im2col against the Double reference: AVX2 (where the CPU
/// has it) and the plain C reference, with and without a clamp, split over pixels and over column
/// panels, on random shapes (seed printed) and on MobileNetV2's 1x1 layers. Limit per output:
/// γ(C + 2)·Σ|products| (the clamp can only shrink an error).
final class PointwiseTests: XCTestCase {
    func check(
        _ g: ConvGeometry, seed: UInt64, clamp: ClosedRange<Float>?, runner: ParallelRunner,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let t = ConvTester(g, seed: seed)
        let ref = ReferenceConv2D.forward(g, input: t.input.data, weights: t.weights.data, bias: t.bias.data)
        let limit = ConvTester.gamma(g.c + 2)
        let out = Tensor(shape: g.outputShape, zeroed: false)
        for isa in ConvOptions.availableISAs {
            let conv = Im2colConv2D(geometry: g, options: ConvOptions(isa: isa))
            XCTAssertTrue(conv.usesPointwiseKernel, file: file, line: line)
            conv.outputClamp = clamp
            // Twice: the second run reuses the packed panels of the first.
            for _ in 0..<2 {
                out.fill(.nan)  // an unwritten output fails
                try conv.forward(input: t.input, weights: t.weights, bias: t.bias, output: out, runner: runner)
                for i in 0..<out.count {
                    var want = ref.output[i]
                    if let clamp { want = min(max(want, Double(clamp.lowerBound)), Double(clamp.upperBound)) }
                    let err = abs(Double(out.data[i]) - want)
                    if !(err <= limit * ref.absSum[i] + 1e-30) {
                        XCTFail(
                            """
                            pointwise \(g) seed \(seed) isa \(isa) clamp \(String(describing: clamp)): output \(i) = \
                            \(out.data[i]), reference \(want)
                            """, file: file, line: line)
                        return
                    }
                }
            }
        }
    }

    /// Every build of the kernel itself (AVX2, AVX-512, and the AVX-512 code as w16) on the
    /// packed panels, over every range of rows and panels a worker may get.
    func checkKernels(
        _ g: ConvGeometry, seed: UInt64, clamp: ClosedRange<Float>?, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let t = ConvTester(g, seed: seed)
        let ref = ReferenceConv2D.forward(g, input: t.input.data, weights: t.weights.data, bias: t.bias.data)
        let limit = ConvTester.gamma(g.c + 2)
        let panels = PackedWeightPanels(c: g.c, k: g.k)
        panels.pack(t.weights.data, runner: SerialRunner())
        let rows = g.n * g.p * g.q, out = Tensor(shape: g.outputShape, zeroed: false)
        let lo = clamp?.lowerBound ?? 0, hi = clamp?.upperBound ?? 0
        for (name, kernel) in KernelVariants.pointwise {
            out.fill(.nan)
            // Two pieces each way, as two workers would split them.
            let mid = rows / 2, pmid = panels.panels / 2
            for (m, j) in [(0..<mid, 0..<pmid), (0..<mid, pmid..<panels.panels), (mid..<rows, 0..<panels.panels)] {
                kernel(
                    Int32(g.c), Int32(g.k), t.input.data, panels.matrix(0), t.bias.data, clamp == nil ? 0 : 1, lo, hi,
                    out.data, m.lowerBound, m.upperBound, Int32(j.lowerBound), Int32(j.upperBound))
            }
            for i in 0..<out.count {
                var want = ref.output[i]
                if let clamp { want = min(max(want, Double(clamp.lowerBound)), Double(clamp.upperBound)) }
                if !(abs(Double(out.data[i]) - want) <= limit * ref.absSum[i] + 1e-30) {
                    XCTFail(
                        "pointwise kernel \(name) \(g) seed \(seed): output \(i) = \(out.data[i]), reference \(want)",
                        file: file, line: line)
                    return
                }
            }
        }
    }

    func testRandomShapes() throws {
        KernelVariants.notRunHere("PointwiseTests")
        let seed = ConvTester.randomSeed("PointwiseTests.testRandomShapes")
        var rng = SeededGenerator(seed: seed)
        for i in 0..<24 {
            // Pixel counts from 1 (a single tail row) to a few hundred (several row blocks), widths
            // that leave every tail: K mod 16 from 0 to 15, fewer columns than one panel.
            let h = 1 + rng.nextInt(12), w = 1 + rng.nextInt(12)
            let g = try ConvGeometry(
                n: 1 + rng.nextInt(2), h: h, w: w, c: 1 + rng.nextInt(70), k: 1 + rng.nextInt(70), r: 1)
            try check(
                g, seed: seed, clamp: i % 2 == 0 ? nil : 0...6, runner: i % 3 == 0 ? SerialRunner() : TwoThreadRunner())
            checkKernels(g, seed: seed, clamp: i % 2 == 0 ? nil : 0...6)
        }
    }

    /// MobileNetV2's 1x1 layers at batch 1 (224x224 input): pixels split on the large maps,
    /// column panels on the 7x7 ones.
    func testMobileNetV2Shapes() throws {
        for (h, c, k) in [
            (112, 32, 16), (112, 16, 96), (56, 24, 144), (28, 32, 192), (14, 64, 384), (14, 96, 576),
            (7, 160, 960), (7, 960, 320), (7, 320, 1280),
        ] {
            let g = try ConvGeometry(n: 1, h: h, w: h, c: c, k: k, r: 1)
            try check(g, seed: 5, clamp: 0...6, runner: TwoThreadRunner())
            checkKernels(g, seed: 5, clamp: 0...6)
        }
    }

    /// Few pixels and many panels: the workers split the columns.
    func testColumnSplit() throws {
        try check(
            try ConvGeometry(n: 1, h: 3, w: 5, c: 200, k: 150, r: 1), seed: 9, clamp: nil, runner: TwoThreadRunner())
    }
}
