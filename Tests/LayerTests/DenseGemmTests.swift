import Dispatch
import Foundation
import Kernels
import Tensor
import XCTest

@testable import Layers

/// Dense forward and backward on every ISA this machine runs, with one and two workers, against a
/// Double reference: y within γ(F+2)·(Σ|x·w| + |b|), dW within γ(N+2)·Σ|x·dy|, dx within
/// γ(U+2)·Σ|dy·w|, per element; random shapes (seed printed, replay with CNNSCOPE_TEST_SEED) and
/// the lab's Dense shapes. The kernel it names is the one the options pick.
final class DenseGemmTests: XCTestCase {
    final class TwoWorkers: ParallelRunner {
        var width: Int { 2 }
        func run(_ body: (Int) -> Void) { DispatchQueue.concurrentPerform(iterations: 2) { body($0) } }
    }

    func check(batch: Int, features: Int, units: Int, rng: inout SeededGenerator, label: String) throws {
        let x = try Tensor([batch, features])
        x.fillUniform(&rng, low: -1, high: 1)
        let reference = try DenseLayer(name: "d", inputFeatures: features, units: units)
        reference.kernel.value.fillUniform(&rng, low: -0.5, high: 0.5)
        reference.bias.value.fillUniform(&rng, low: -0.1, high: 0.1)
        let w = reference.kernel.value.data, b = reference.bias.value.data
        let u = 1.0 / 16_777_216.0, n = Double(features + 2)
        let gamma = n * u / (1 - n * u)
        var want = [Double](repeating: 0, count: batch * units), mag = want
        for i in 0..<batch {
            for j in 0..<units {
                var s = Double(b[j]), m = abs(Double(b[j]))
                for f in 0..<features {
                    let p = Double(x.data[i * features + f]) * Double(w[f * units + j])
                    s += p
                    m += abs(p)
                }
                (want[i * units + j], mag[i * units + j]) = (s, m)
            }
        }
        // dL/dy, and the gradients it gives by the definition.
        let dy0 = try Tensor([batch, units])
        dy0.fillUniform(&rng, low: -1, high: 1)
        var wantDW = [Double](repeating: 0, count: features * units), magDW = wantDW
        var wantDX = [Double](repeating: 0, count: batch * features), magDX = wantDX
        for i in 0..<batch {
            for f in 0..<features {
                let xv = Double(x.data[i * features + f])
                for j in 0..<units {
                    let g = Double(dy0.data[i * units + j])
                    wantDW[f * units + j] += xv * g
                    magDW[f * units + j] += abs(xv * g)
                    wantDX[i * features + f] += g * Double(w[f * units + j])
                    magDX[i * features + f] += abs(g * Double(w[f * units + j]))
                }
            }
        }
        let gammaN = Double(batch + 2) * u / (1 - Double(batch + 2) * u)
        let gammaU = Double(units + 2) * u / (1 - Double(units + 2) * u)
        for isa in ConvOptions.availableISAs {
            for runner in [SerialRunner(), TwoWorkers()] as [ParallelRunner] {
                let layer = try DenseLayer(name: "d", inputFeatures: features, units: units)
                layer.options.isa = isa
                layer.kernel.value.data.update(from: w, count: features * units)
                layer.bias.value.data.update(from: b, count: units)
                let y = layer.forward(x, RunContext(runner: runner))
                let kernel = layer.forwardKernel(batch: batch, workers: runner.width)
                if isa == "avx2" && batch > 1 && units / runner.width >= 16 {
                    XCTAssertEqual(kernel, "avx2", "\(label) \(batch)x\(features)->\(units)")
                }
                if isa == "scalar" { XCTAssertEqual(kernel, "openblas") }
                let at = "\(label) \(batch)x\(features)->\(units) \(isa) (\(kernel)) workers \(runner.width)"
                for e in 0..<batch * units where abs(Double(y.data[e]) - want[e]) > gamma * mag[e] {
                    XCTFail("\(at): y[\(e)] = \(y.data[e]), reference \(want[e]), limit \(gamma * mag[e])")
                    return
                }
                layer.needsInputGradient = true
                let dy = dy0.copy()
                let dx = try XCTUnwrap(layer.backward(dy, RunContext(runner: runner)))
                let dW = layer.kernel.grad.data
                for e in 0..<features * units where abs(Double(dW[e]) - wantDW[e]) > gammaN * magDW[e] {
                    XCTFail("\(at): dW[\(e)] = \(dW[e]), reference \(wantDW[e]), limit \(gammaN * magDW[e])")
                    return
                }
                for e in 0..<batch * features where abs(Double(dx.data[e]) - wantDX[e]) > gammaU * magDX[e] {
                    XCTFail("\(at): dx[\(e)] = \(dx.data[e]), reference \(wantDX[e]), limit \(gammaU * magDX[e])")
                    return
                }
            }
        }
    }

    func testDenseEqualsTheReferenceOnEveryISA() throws {
        let seed =
            UInt64(ProcessInfo.processInfo.environment["CNNSCOPE_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        print("DenseGemmTests seed \(seed) (replay with CNNSCOPE_TEST_SEED=\(seed))")
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<8 {
            try check(
                batch: 1 + rng.nextInt(70), features: 1 + rng.nextInt(400), units: 1 + rng.nextInt(90), rng: &rng,
                label: "random")
        }
        // The lab's Dense layers at batch 64: basic-cnn, wide-cnn, fcnn's first two.
        var lab = SeededGenerator(seed: 7)
        for (f, units) in [(3136, 128), (6272, 256), (784, 512), (512, 256)] {
            try check(batch: 64, features: f, units: units, rng: &lab, label: "lab")
        }
        let missing = ConvOptions.knownISAs.filter { !ConvOptions.availableISAs.contains($0) }
        if !missing.isEmpty {
            print("DenseGemmTests: this CPU lacks \(missing.joined(separator: ", ")): not run here")
        }
    }
}
