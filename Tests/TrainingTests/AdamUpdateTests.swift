import CKernels
import Foundation
import Hardware
import Kernels
import Layers
import Runtime
import Tensor
import XCTest

@testable import Training

/// Adam's update kernel: every build this machine runs (AVX2, AVX-512) equals the plain C reference
/// bit for bit, on random lengths that leave tails; the reference follows Keras' formulas, checked
/// in Double (m and v within one rounding of each term, w within a few ulps of the step); and a
/// step split across two workers equals one on a single thread.
final class AdamUpdateTests: XCTestCase {
    typealias Kernel = Adam.Kernel

    static var builds: [(String, Kernel)] {
        var v: [(String, Kernel)] = []
        if ConvOptions.availableISAs.contains("avx2") { v.append(("avx2", cnns_adam_update_avx2)) }
        if ConvOptions.availableISAs.contains("avx512") { v.append(("avx512", cnns_adam_update_avx512)) }
        let missing = ConvOptions.knownISAs.filter { $0 != "scalar" && !ConvOptions.availableISAs.contains($0) }
        if !missing.isEmpty {
            print("AdamUpdateTests: this CPU lacks \(missing.joined(separator: ", ")): those builds did not run here")
        }
        return v
    }

    private func seed(_ test: String) -> UInt64 {
        let s =
            UInt64(ProcessInfo.processInfo.environment["CNNSCOPE_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        print("\(test) seed \(s) (replay with CNNSCOPE_TEST_SEED=\(s))")
        return s
    }

    func testEveryBuildEqualsTheReferenceAndKerasFormulas() throws {
        let seed = seed("AdamUpdateTests.testEveryBuildEqualsTheReferenceAndKerasFormulas")
        var rng = SeededGenerator(seed: seed)
        let (b1, b2, eps): (Float, Float, Float) = (0.9, 0.999, 1e-7)
        for trial in 0..<6 {
            let n = [1, 15, 16, 17, 1000, 1 + rng.nextInt(300)][trial]
            let lrT = Float(1e-3 * (1 - pow(0.999, Double(trial + 1))).squareRoot() / (1 - pow(0.9, Double(trial + 1))))
            let w0 = try Tensor([n]), g = try Tensor([n]), m0 = try Tensor([n]), v0 = try Tensor([n])
            w0.fillUniform(&rng)
            g.fillUniform(&rng, low: -2, high: 2)
            m0.fillUniform(&rng, low: -0.1, high: 0.1)
            v0.fillUniform(&rng, low: 0, high: 0.01)
            func run(_ k: Kernel) throws -> (Tensor, Tensor, Tensor) {
                let w = try Tensor([n]), m = try Tensor([n]), v = try Tensor([n])
                w.data.update(from: w0.data, count: n)
                m.data.update(from: m0.data, count: n)
                v.data.update(from: v0.data, count: n)
                k(w.data, g.data, m.data, v.data, n, b1, b2, eps, lrT)
                return (w, m, v)
            }
            let (wr, mr, vr) = try run(cnns_adam_update_scalar)
            let what = "n \(n), seed \(seed)"
            let u = 1.0 / 16_777_216.0
            // The constants as the kernel has them: float β's, and 1 − β rounded to float.
            let (B1, B2, C1, C2, E) = (Double(b1), Double(b2), Double(1 - b1), Double(1 - b2), Double(eps))
            for i in 0..<n {
                let gi = Double(g.data[i])
                let m = B1 * Double(m0.data[i]) + C1 * gi
                let v = B2 * Double(v0.data[i]) + C2 * gi * gi
                let step = Double(lrT) * m / (v.squareRoot() + E)
                let w = Double(w0.data[i]) - step
                let mLimit = 4 * u * (B1 * abs(Double(m0.data[i])) + C1 * abs(gi))
                let vLimit = 5 * u * (B2 * Double(v0.data[i]) + C2 * gi * gi)
                XCTAssertLessThanOrEqual(abs(Double(mr.data[i]) - m), mLimit, "m[\(i)], \(what)")
                XCTAssertLessThanOrEqual(abs(Double(vr.data[i]) - v), vLimit, "v[\(i)], \(what)")
                XCTAssertLessThanOrEqual(
                    abs(Double(wr.data[i]) - w), 2 * u * abs(w) + 16 * u * abs(step), "w[\(i)], \(what)")
            }
            for (name, k) in Self.builds {
                let (w, m, v) = try run(k)
                for i in 0..<n {
                    XCTAssertEqual(w.data[i].bitPattern, wr.data[i].bitPattern, "\(name): w[\(i)], \(what)")
                    XCTAssertEqual(m.data[i].bitPattern, mr.data[i].bitPattern, "\(name): m[\(i)], \(what)")
                    XCTAssertEqual(v.data[i].bitPattern, vr.data[i].bitPattern, "\(name): v[\(i)], \(what)")
                }
            }
        }
    }

    /// Two workers (parameters split at multiples of 8 across them) give the same weights as one.
    func testStepOnTwoWorkersEqualsOneThread() throws {
        let seed = seed("AdamUpdateTests.testStepOnTwoWorkersEqualsOneThread")
        func params() throws -> [Parameter] {
            var rng = SeededGenerator(seed: seed)
            return try [70_001, 13, 40_000].map { n in
                let p = Parameter(name: "p\(n)", shape: try TensorShape([n]))
                p.value.fillUniform(&rng)
                p.grad.fillUniform(&rng)
                return p
            }
        }
        let a = try params(), b = try params()
        let pool = WorkerPool(threads: 2, policy: .none, topology: nil)
        let one = Adam(), two = Adam()
        for _ in 0..<3 {
            one.step(a, runner: SerialRunner())
            two.step(b, runner: pool)
        }
        for (p, q) in zip(a, b) {
            for i in 0..<p.value.count where p.value.data[i].bitPattern != q.value.data[i].bitPattern {
                return XCTFail("\(p.name)[\(i)]: one thread \(p.value.data[i]), two workers \(q.value.data[i])")
            }
        }
    }
}
