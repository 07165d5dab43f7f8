import CKernels
import Tensor
import XCTest

@testable import Kernels

/// The AVX2 and 16-lane (w16, and AVX-512 where the CPU has it) max-pooling window kernels
/// against their scalar references, bit for bit: windows 2x2 and 3x3, channel counts with and
/// without a tail, values drawn from a few levels so ties and non-positive maxima (the ReLU case)
/// are common; the seed is printed.
final class MaxPoolArgmaxTests: XCTestCase {
    func testAVX2MatchesScalarWithTiesAndReLU() throws {
        let seed = UInt64(Date().timeIntervalSince1970) % 100_000
        print("MaxPoolArgmaxTests seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        for k in [2, 3] {
            for C in [8, 13, 16, 40, 64] {
                for relu in [false, true] {
                    let rowStride = (k + 1) * C
                    let x = try Tensor([k * rowStride])
                    for i in 0..<x.count { x.data[i] = Float(rng.nextInt(5)) - 2 }  // -2...2: ties, zeros, negatives
                    let yA = try Tensor([C]), yB = try Tensor([C])
                    var aA = [UInt8](repeating: 9, count: C), aB = aA
                    cnns_maxpool_argmax_forward(x.data, rowStride, Int32(k), Int32(C), yA.data, &aA, relu ? 1 : 0)
                    cnns_maxpool_argmax_forward_scalar(
                        x.data, rowStride, Int32(k), Int32(C), yB.data, &aB, relu ? 1 : 0)
                    XCTAssertEqual(yA.array, yB.array, "k \(k) C \(C) relu \(relu) seed \(seed)")
                    XCTAssertEqual(aA, aB, "k \(k) C \(C) relu \(relu) seed \(seed)")
                    for (name, forward, _) in KernelVariants.maxPool {
                        let yW = try Tensor([C])
                        var aW = [UInt8](repeating: 9, count: C)
                        forward(x.data, rowStride, Int32(k), Int32(C), 1, yW.data, &aW, relu ? 1 : 0)
                        XCTAssertEqual(yW.array, yB.array, "\(name) k \(k) C \(C) relu \(relu) seed \(seed)")
                        XCTAssertEqual(aW, aB, "\(name) k \(k) C \(C) relu \(relu) seed \(seed)")
                    }
                    // The argmax names the first maximum in row-major order (or 255 under ReLU at max ≤ 0).
                    for c in 0..<C {
                        if relu && yB.data[c] <= 0 { XCTAssertEqual(aB[c], 255); continue }
                        let first = (0..<(k * k)).first {
                            x.data[($0 / k) * rowStride + ($0 % k) * C + c] == yB.data[c]
                        }!
                        XCTAssertEqual(Int(aB[c]), first, "k \(k) C \(C) channel \(c) seed \(seed)")
                    }
                    let g = try Tensor([C]); g.fillUniform(&rng)
                    let dA = try Tensor([k * rowStride]), dB = try Tensor([k * rowStride])
                    dA.fill(.nan); dB.fill(.nan)
                    cnns_maxpool_route(aA, g.data, dA.data, rowStride, Int32(k), Int32(C))
                    cnns_maxpool_route_scalar(aB, g.data, dB.data, rowStride, Int32(k), Int32(C))
                    for (name, _, route) in KernelVariants.maxPool {
                        let dW = try Tensor([k * rowStride])
                        dW.fill(.nan)
                        route(aB, g.data, dW.data, rowStride, Int32(k), Int32(C), 1)
                        for i in 0..<k {
                            for j in 0..<k {
                                let o = i * rowStride + j * C
                                XCTAssertEqual(
                                    Array(UnsafeBufferPointer(start: dW.data + o, count: C)),
                                    Array(UnsafeBufferPointer(start: dB.data + o, count: C)), "\(name) k \(k) C \(C)")
                            }
                        }
                    }
                    for i in 0..<k {
                        for j in 0..<k {
                            for c in 0..<C {
                                let o = i * rowStride + j * C + c
                                XCTAssertEqual(dA.data[o], dB.data[o], "k \(k) C \(C) at \(i),\(j),\(c)")
                                XCTAssertEqual(dB.data[o], Int(aB[c]) == i * k + j ? g.data[c] : 0)
                            }
                        }
                    }
                }
            }
        }
    }

    func testVariantsNotRunHere() { KernelVariants.notRunHere("MaxPoolArgmaxTests") }
}
