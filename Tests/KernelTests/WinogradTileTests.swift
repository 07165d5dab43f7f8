import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The C tile transforms (AVX2, AVX-512, and the AVX-512 code as w16) against the Swift kernels
/// (the `--isa scalar` reference) on random tiles, every variant, channel and filter counts that
/// leave every tail, edge tiles (fewer rows and columns), with bias and clamp. Limit per value:
/// 2·10⁻⁶·max(1, |reference|), some 32 units in the last place: the two passes add at most 6
/// terms each with coefficients up to 8, and FMA contraction rounds differently from Swift's
/// separate multiply and add; a wrong coefficient or lane is off by far more. An input value may
/// also be off by 32·2⁻²⁴·Σ|Bᵀ||d||B|, an output by 32·2⁻²⁴·(Σ|Aᵀ||M||A| + |bias|) (F(4x4,5x5): 8
/// points with coefficients up to 8 and 1/8, cancellation in factored rows).
final class WinogradTileTests: XCTestCase {
    func testTransformsMatchTheSwiftKernels() throws {
        KernelVariants.notRunHere("WinogradTileTests")
        let seed = ConvTester.randomSeed("WinogradTileTests.testTransformsMatchTheSwiftKernels")
        var rng = SeededGenerator(seed: seed)
        let kernels: [(Int32, any WinogradTileKernel.Type)] = [
            (0, WinogradF2Kernel.self), (1, WinogradF4Kernel.self), (2, WinogradF2x5Kernel.self),
            (3, WinogradF3x2Kernel.self), (4, WinogradF4x5Kernel.self),
        ]
        for (variant, T) in kernels {
            for channels in [1, 7, 8, 16, 17, 33, 64] {
                try check(variant, T, channels: channels, rng: &rng, seed: seed)
            }
        }
    }

    func check(
        _ variant: Int32, _ T: any WinogradTileKernel.Type, channels C: Int, rng: inout SeededGenerator, seed: UInt64
    ) throws {
        let a = T.alpha, a2 = a * a, m = T.m
        let pixels = try Tensor([a2 * C]), zero = try Tensor([C])
        pixels.fillUniform(&rng)
        let ptrs = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: a2)
        let scratch = UnsafeMutablePointer<V8>.allocate(capacity: a2)
        defer { ptrs.deallocate(); scratch.deallocate() }
        // Some pixels padded (the zero row), as at the borders.
        for i in 0..<a2 { ptrs[i] = UnsafePointer(rng.nextInt(5) == 0 ? zero.data : pixels.data + i * C) }
        let xs = C + 3
        let ref = try Tensor([a2 * xs]), got = try Tensor([a2 * xs])
        T.inputTile(ptrs, channels: C, v: ref.data, xiStride: xs, scratch: scratch)
        let mtx = try Tensor([a2 * xs]), bias = try Tensor([C])
        mtx.fillUniform(&rng); bias.fillUniform(&rng)
        let rows = 1 + rng.nextInt(m), cols = 1 + rng.nextInt(m)
        let outRef = try Tensor([m * m * C]), outGot = try Tensor([m * m * C])
        T.outputTile(
            mtx.data, xiStride: xs, filters: C, bias: bias.data, out: outRef.data, rowStride: m * C, rows: rows,
            cols: cols, scratch: scratch)
        for i in 0..<(rows * m * C) { outRef.data[i] = min(max(outRef.data[i], -0.5), 0.75) }
        func close(_ x: Float, _ y: Float) -> Bool { abs(x - y) <= 2e-6 * max(1, abs(y)) }
        // Rounding grows with Σ |Aᵀ| |M| |A| + |bias| as it does with the input's Σ |Bᵀ| |d| |B| (below).
        let t = [WinogradTransform.f2x3, .f4x3, .f2x5, .f3x2, .f4x5][Int(variant)]
        var outAbs = [Double](repeating: 0, count: m * m * C)
        for i in 0..<m {
            for j in 0..<m {
                for c in 0..<C {
                    var sum = Double(abs(bias.data[c]))
                    for l in 0..<a {
                        for l2 in 0..<a {
                            sum += Double(abs(t.AT[i][l] * t.AT[j][l2]) * abs(mtx.data[(l * a + l2) * xs + c]))
                        }
                    }
                    outAbs[(i * m + j) * C + c] = sum
                }
            }
        }
        func compare(_ name: String, flags: Int32) {
            for i in 0..<rows {
                for j in 0..<cols {
                    for c in 0..<C {
                        let at = i * m * C + j * C + c
                        let bound = 32 * outAbs[(i * m + j) * C + c] / 16_777_216
                        if !close(outGot.data[at], outRef.data[at])
                            && Double(abs(outGot.data[at] - outRef.data[at])) > bound
                        {
                            XCTFail(
                                """
                                \(name) output variant \(variant) flags \(flags) K \(C) pixel (\(i),\(j)) \
                                filter \(c): \(outGot.data[at]) vs \(outRef.data[at]), seed \(seed)
                                """)
                            return
                        }
                    }
                }
            }
        }
        // The input transform's rounding grows with Σ |Bᵀ| |d| |B| (F(4x4,5x5)'s coefficients reach 5.25, and
        // its factored C rows sum in another order than the reference): each V value may also be off by
        // 32 units of 2⁻²⁴ times that sum.
        var absSum = [Double](repeating: 0, count: a2 * C)
        for i in 0..<a {
            for k in 0..<a {
                for l in 0..<a {
                    for l2 in 0..<a {
                        let w = Double(abs(t.BT[i][l]) * abs(t.BT[k][l2]))
                        if w == 0 { continue }
                        for c in 0..<C { absSum[(i * a + k) * C + c] += w * Double(abs(ptrs[l * a + l2][c])) }
                    }
                }
            }
        }
        func inputClose(_ x: Float, _ y: Float, _ bound: Double) -> Bool {
            close(x, y) || Double(abs(x - y)) <= 32 * bound / 16_777_216
        }
        for (name, input, output) in KernelVariants.winogradTiles {
            got.fill(.nan)
            UnsafeRawPointer(ptrs).withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: a2) {
                input(Int32(a), $0, Int32(C), got.data, xs)
            }
            for xi in 0..<a2 {
                for c in 0..<C {
                    let (x, y) = (got.data[xi * xs + c], ref.data[xi * xs + c])
                    if inputClose(x, y, absSum[xi * C + c]) { continue }
                    XCTFail("\(name) input variant \(variant) C \(C) ξ \(xi) channel \(c): \(x) vs \(y), seed \(seed)")
                    return
                }
                // Nothing past the C channels of a point (its tail goes through whole vectors elsewhere).
                for c in C..<xs where !got.data[xi * xs + c].isNaN {
                    XCTFail("\(name) input variant \(variant) C \(C) ξ \(xi) wrote past its channels, seed \(seed)")
                    return
                }
            }
            // Plain stores, then streaming ones (the same values; whole aligned vectors non-temporal).
            for flags in [CNNS_WINO_CLAMP, CNNS_WINO_CLAMP | CNNS_WINO_STREAM] {
                outGot.fill(.nan)
                output(
                    variant, mtx.data, xs, Int32(C), bias.data, flags, -0.5, 0.75, outGot.data, m * C, Int32(rows),
                    Int32(cols))
                compare(name, flags: flags)
                // Nothing outside the tile's rows x cols pixels of K filters.
                for i in 0..<m {
                    for j in 0..<m where i >= rows || j >= cols {
                        if (0..<C).contains(where: { !outGot.data[i * m * C + j * C + $0].isNaN }) {
                            XCTFail("\(name) output variant \(variant) K \(C) wrote pixel (\(i),\(j)), seed \(seed)")
                            return
                        }
                    }
                }
            }
        }
    }
}
