import Kernels
import Tensor
import XCTest

@testable import Layers

/// A Conv2D layer under `auto` whose forward runs Winograd takes its weight gradient from the
/// choice auto keeps ("dW " keys in the machine record): on a Winograd transform (any that fits the
/// kernel, not only the forward's) or on im2col.
/// Either way dW and db match Double sums (within the transform's tolerance), the choice is
/// reused without timing, and a fixed algorithm keeps im2col's weight gradient. (The Winograd
/// weight gradient can be turned off: `ConvOptions.winogradWeightGradient`.)
final class WeightGradientChoiceTests: XCTestCase {
    func layer(_ dW: ConvAlgorithmKind?, batch: Int) throws -> (Conv2DLayer, AutoSelector) {
        let runner = SerialRunner()
        let l0 = try Conv2DLayer(name: "c", input: [10, 9, 6], filters: 12, kernel: 3)
        let g = try l0.geometry.withBatch(batch)
        var options = ConvOptions()
        options.winogradWeightGradient = true
        let selector = AutoSelector(options: options, machine: "test")
        var cache = AlgorithmChoiceCache()
        let key = AutoSelector.key(g, threads: runner.width, options: selector.options, machine: "test")
        let all = ["im2col", "winograd-f2x3", "winograd-f4x3"].reduce(into: [String: Double]()) { $0[$1] = 1 }
        let best = all.merging(["winograd-f4x3": 0.5]) { $1 }
        cache.choices[key] = AlgorithmChoice(algorithm: .winogradF4, secondsByAlgorithm: best)
        // dX (a forward convolution of dy with the flipped kernel) under auto too.
        let tg = try XCTUnwrap(l0.transposedGeometry(batch: batch))
        let tkey = AutoSelector.key(tg, threads: runner.width, options: selector.options, machine: "test")
        cache.choices[tkey] = AlgorithmChoice(algorithm: .winogradF4, secondsByAlgorithm: best)
        if let dW {
            let dWKey = AutoSelector.weightGradientKey(
                g, threads: runner.width, options: selector.options, machine: "test")
            // Every candidate transform was timed (3x3: F(2x2,3x3) and F(4x4,3x3)), so the choice is kept.
            cache.choices[dWKey] = AlgorithmChoice(
                algorithm: dW,
                secondsByAlgorithm: ["winograd-f2x3": 2, "winograd-f4x3": 2, "im2col": 2].merging([dW.rawValue: 1]) {
                    $1
                })
        }
        let s = AutoSelector(cache: cache, options: selector.options, machine: "test")
        let l = try Conv2DLayer(
            name: "c", input: [10, 9, 6], filters: 12, kernel: 3, policy: dW == nil ? .fixed(.winogradF4) : .auto(s),
            options: options)
        return (l, s)
    }

    func check(_ dW: ConvAlgorithmKind?) throws {
        let batch = 2
        let (l, selector) = try layer(dW, batch: batch)
        var rng = SeededGenerator(seed: 5)
        for p in l.parameters { p.value.fillUniform(&rng, low: -0.5, high: 0.5); p.version += 1 }
        let x = try Tensor([batch, 10, 9, 6])
        x.fillUniform(&rng)
        let ctx = RunContext(runner: SerialRunner(), training: true, seed: 1)
        let y = l.forward(x, ctx)
        let dy = Tensor(shape: y.shape)
        dy.fillUniform(&rng)
        _ = l.backward(dy, ctx)
        XCTAssertFalse(selector.changed, "the kept choices are reused, nothing is timed")
        XCTAssertEqual(l.weightGradientChoice[batch]?.winograd, dW.map { $0 != .im2col })
        let g = l.geometry
        var ref = [Double](repeating: 0, count: g.r * g.s * g.c * g.k), refDb = [Double](repeating: 0, count: g.k)
        for n in 0..<batch {
            for p in 0..<g.p {
                for q in 0..<g.q {
                    let d = dy.data + ((n * g.p + p) * g.q + q) * g.k
                    for k in 0..<g.k { refDb[k] += Double(d[k]) }
                    for r in 0..<g.r {
                        for s in 0..<g.s {
                            let ih = p - g.padTop + r, iw = q - g.padLeft + s
                            guard ih >= 0 && ih < g.h && iw >= 0 && iw < g.w else { continue }
                            let xrow = x.data + ((n * g.h + ih) * g.w + iw) * g.c
                            for c in 0..<g.c {
                                let xv = Double(xrow[c])
                                let o: Int = ((r * g.s + s) * g.c + c) * g.k
                                for k in 0..<g.k { ref[o + k] += xv * Double(d[k]) }
                            }
                        }
                    }
                }
            }
        }
        let norm = ref.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var err = 0.0
        for i in 0..<ref.count { let e = Double(l.kernel.grad.data[i]) - ref[i]; err += e * e }
        XCTAssertLessThanOrEqual(err.squareRoot() / norm, 1e-4, "dW with choice \(dW?.rawValue ?? "fixed")")
        for k in 0..<g.k {
            XCTAssertEqual(Double(l.bias.grad.data[k]), refDb[k], accuracy: 1e-4 * max(1, abs(refDb[k])), "db")
        }
    }

    func testWinogradWeightGradientWhenChosen() throws { try check(.winogradF4) }
    /// The weight gradient's transform need not be the forward's (F(4x4,3x3) here).
    func testOtherTransformsWeightGradientWhenChosen() throws { try check(.winogradF2) }
    func testIm2colWeightGradientWhenChosen() throws { try check(.im2col) }
    func testFixedAlgorithmKeepsIm2colWeightGradient() throws { try check(nil) }

    /// A 2x2 layer under auto with F(3x3,2x2) kept for the forward, the weight gradient and the input
    /// gradient (a forward convolution of dy with the flipped kernel and the padding mirrored to the
    /// top and left): dX equals Double sums, and dW and db a fixed-im2col layer's, within F(3x3,2x2)'s
    /// relative L2 tolerance.
    func testEvenKernelWinogradWeightAndInputGradients() throws {
        let batch = 2, input = [7, 8, 5]
        var options = ConvOptions()
        options.winogradWeightGradient = true
        let reference = try Conv2DLayer(name: "c", input: input, filters: 9, kernel: 2, options: options)
        let g = try reference.geometry.withBatch(batch)
        var cache = AlgorithmChoiceCache()
        cache.choices[AutoSelector.key(g, threads: 1, options: options, machine: "test")] = AlgorithmChoice(
            algorithm: .winogradF3x2, secondsByAlgorithm: ["im2col": 1, "winograd-f3x2": 0.5])
        cache.choices[AutoSelector.weightGradientKey(g, threads: 1, options: options, machine: "test")] =
            AlgorithmChoice(algorithm: .winogradF3x2, secondsByAlgorithm: ["im2col": 2, "winograd-f3x2": 1])
        let tg = try XCTUnwrap(reference.transposedGeometry(batch: batch))
        XCTAssertEqual([tg.padTop, tg.padLeft, tg.padBottom, tg.padRight], [1, 1, 0, 0])
        cache.choices[AutoSelector.key(tg, threads: 1, options: options, machine: "test")] = AlgorithmChoice(
            algorithm: .winogradF3x2, secondsByAlgorithm: ["im2col": 1, "winograd-f3x2": 0.5])
        let selector = AutoSelector(cache: cache, options: options, machine: "test")
        let l = try Conv2DLayer(
            name: "c", input: input, filters: 9, kernel: 2, policy: .auto(selector), options: options)
        var rng = SeededGenerator(seed: 9)
        for (p, q) in zip(l.parameters, reference.parameters) {
            p.value.fillUniform(&rng, low: -0.5, high: 0.5)
            q.value.data.update(from: p.value.data, count: p.value.count)
            p.version += 1; q.version += 1
        }
        let x = try Tensor([batch] + input)
        x.fillUniform(&rng)
        let ctx = RunContext(runner: SerialRunner(), training: true, seed: 1)
        let y = l.forward(x, ctx)
        _ = reference.forward(x, ctx)
        let dy = Tensor(shape: y.shape)
        dy.fillUniform(&rng)
        let dyCopy = dy.copy()
        let dx = try XCTUnwrap(l.backward(dy, ctx))
        _ = reference.backward(dyCopy, ctx)
        // dX[n, ih, iw, c] = Σ over the (p, q, r, s) that read input pixel (ih, iw) of
        // dy[n, p, q, k] · W[r, s, c, k].
        let dxReference = Tensor(shape: dx.shape)
        let g1 = reference.geometry, w = l.kernel.value
        for n in 0..<batch {
            for ih in 0..<g1.h {
                for iw in 0..<g1.w {
                    for c in 0..<g1.c {
                        var sum = 0.0
                        for r in 0..<g1.r {
                            for s in 0..<g1.s {
                                let p = ih + g1.padTop - r, q = iw + g1.padLeft - s
                                guard p >= 0 && p < g1.p && q >= 0 && q < g1.q else { continue }
                                for k in 0..<g1.k {
                                    sum +=
                                        Double(dy.data[((n * g1.p + p) * g1.q + q) * g1.k + k])
                                        * Double(w.data[((r * g1.s + s) * g1.c + c) * g1.k + k])
                                }
                            }
                        }
                        dxReference.data[((n * g1.h + ih) * g1.w + iw) * g1.c + c] = Float(sum)
                    }
                }
            }
        }
        XCTAssertEqual(l.weightGradientChoice[batch]?.kind, .winogradF3x2)
        XCTAssertFalse(selector.changed, "the kept choices are reused, nothing is timed")
        func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
            var e = 0.0, n = 0.0
            for i in 0..<a.count {
                let d = Double(a.data[i]) - Double(b.data[i])
                e += d * d
                n += Double(b.data[i]) * Double(b.data[i])
            }
            return (e / max(n, 1e-30)).squareRoot()
        }
        XCTAssertLessThanOrEqual(relativeL2(dx, dxReference), 2e-5, "dX")
        XCTAssertLessThanOrEqual(relativeL2(l.kernel.grad, reference.kernel.grad), 2e-5, "dW")
        XCTAssertLessThanOrEqual(relativeL2(l.bias.grad, reference.bias.grad), 2e-5, "db")
    }
}

/// The rule that picks the weight gradient from timings: the fastest Winograd candidate only when it
/// takes at most `weightGradientMargin` of im2col's time; a cached choice that timed every candidate is
/// reused, one that did not is timed again.
final class WeightGradientSelectionRuleTests: XCTestCase {
    func choose(_ seconds: [String: Double], cache: AlgorithmChoiceCache = AlgorithmChoiceCache()) throws -> (
        ConvAlgorithmKind, Bool, Int
    ) {
        let g = try ConvGeometry(n: 4, h: 8, w: 8, c: 4, k: 8, r: 3, s: 3, stride: 1, padding: .same)
        let s = AutoSelector(cache: cache, options: ConvOptions(), machine: "test")
        var calls = 0
        let c = s.chooseWeightGradient(g, candidates: [.winogradF2, .winogradF4], runner: SerialRunner()) {
            calls += 1
            return seconds
        }
        return (c.algorithm, s.changed, calls)
    }

    func testFastestWinogradWithinTheMarginWins() throws {
        let m = AutoSelector.weightGradientMargin
        XCTAssertEqual(try choose(["im2col": 1, "winograd-f2x3": 0.9 * m, "winograd-f4x3": 0.5 * m]).0, .winogradF4)
        XCTAssertEqual(try choose(["im2col": 1, "winograd-f2x3": m, "winograd-f4x3": 2]).0, .winogradF2)
    }

    func testWinogradOutsideTheMarginLosesToIm2col() throws {
        let m = AutoSelector.weightGradientMargin
        XCTAssertEqual(try choose(["im2col": 1, "winograd-f2x3": m + 0.01, "winograd-f4x3": 0.99]).0, .im2col)
    }

    func testCachedChoiceIsReusedOnlyWhenEveryCandidateWasTimed() throws {
        let g = try ConvGeometry(n: 4, h: 8, w: 8, c: 4, k: 8, r: 3, s: 3, stride: 1, padding: .same)
        let key = AutoSelector.weightGradientKey(g, threads: 1, options: ConvOptions(), machine: "test")
        var cache = AlgorithmChoiceCache()
        cache.choices[key] = AlgorithmChoice(
            algorithm: .winogradF4, secondsByAlgorithm: ["im2col": 1, "winograd-f2x3": 1, "winograd-f4x3": 0.5])
        let (kept, changed, calls) = try choose(["im2col": 1, "winograd-f2x3": 2, "winograd-f4x3": 2], cache: cache)
        XCTAssertEqual(kept, .winogradF4)
        XCTAssertFalse(changed)
        XCTAssertEqual(calls, 0)
        cache.choices[key] = AlgorithmChoice(
            algorithm: .winogradF4, secondsByAlgorithm: ["im2col": 1, "winograd-f4x3": 0.5])
        let (retimed, changedAgain, callsAgain) = try choose(
            ["im2col": 1, "winograd-f2x3": 2, "winograd-f4x3": 2], cache: cache)
        XCTAssertEqual(retimed, .im2col)
        XCTAssertTrue(changedAgain)
        XCTAssertEqual(callsAgain, 1)
    }
}
