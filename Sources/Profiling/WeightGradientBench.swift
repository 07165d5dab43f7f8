import Figures
import Foundation
import Kernels
import Reports
import Runtime
import Tensor

/// One training layer's weight gradient at one thread count in `cnnscope bench`: im2col's colᵀ·dy
/// against the Winograd weight gradient of each transform that applies, timed alternately in
/// the same run (direct-equivalent GFLOP/s, medians), and the best transform's speed-up as the
/// median (min–max) of the alternated pairs' ratios.
public struct WeightGradientBenchRow: Codable {
    public var layer: String
    public var threads: Int
    public var im2colGFLOPs: Double
    public var winogradGFLOPs: [String: Double]
    public var best: String
    public var speedup: Double
    public var speedupMin: Double
    public var speedupMax: Double
}

enum WeightGradientBench {
    /// dW and db of `g` (its n the batch) both ways, `repetitions` alternated rounds after two warm-ups.
    static func row(_ g: ConvGeometry, threads: Int, pool: ParallelRunner, options: ConvOptions, repetitions: Int)
        -> WeightGradientBenchRow
    {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor(shape: g.inputShape), dy = Tensor(shape: g.outputShape)
        x.fillUniform(&rng)
        dy.fillUniform(&rng)
        let w = Tensor(shape: g.weightShape), dw = Tensor(shape: g.weightShape),
            db = Tensor(shape: try! TensorShape([g.k]))
        let im2col = Im2colConv2DBackward(geometry: g, options: options)
        let wino = WinogradTransform.all.filter { WinogradWeightGradient.supports(g, transform: $0) }.map {
            WinogradWeightGradient(geometry: g, transform: $0, options: options)
        }
        func timed(_ body: () -> Void) -> Double {
            let t0 = monotonicNanos()
            body()
            return Double(monotonicNanos() - t0) * 1e-9
        }
        var base: [Double] = [], each = [[Double]](repeating: [], count: wino.count)
        for rep in 0..<(repetitions + 2) {
            // Alternate which side runs first, so that neither always follows the other.
            let a = timed {
                im2col.backward(
                    input: x.data, batch: g.n, weights: w.data, dy: dy.data, dWeights: dw.data, dBias: db.data,
                    dInput: nil, runner: pool)
            }
            var bs: [Double] = []
            for k in wino.indices {
                bs.append(
                    timed {
                        wino[k].backward(
                            input: x.data, batch: g.n, dy: dy.data, dWeights: dw.data, dBias: db.data, runner: pool)
                    })
            }
            if rep < 2 { continue }
            base.append(a)
            for k in wino.indices { each[k].append(bs[k]) }
        }
        let flops = 2 * Double(g.n * g.p * g.q) * Double(g.r * g.s * g.c) * Double(g.k)
        let medians = each.map { Timing($0).median }
        let bestIndex = medians.indices.min { medians[$0] < medians[$1] } ?? 0
        let ratios = Timing(zip(base, each.isEmpty ? base : each[bestIndex]).map { $0 / $1 })
        return WeightGradientBenchRow(
            layer: g.shortDescription, threads: threads, im2colGFLOPs: flops / Timing(base).median / 1e9,
            winogradGFLOPs: Dictionary(
                uniqueKeysWithValues: zip(wino, medians).map { ($0.transform.name, flops / $1 / 1e9) }),
            best: wino.isEmpty ? "im2col" : wino[bestIndex].transform.name, speedup: ratios.median,
            speedupMin: ratios.min, speedupMax: ratios.max)
    }

    /// The rows' table (pure).
    static func text(_ rows: [WeightGradientBenchRow]) -> String {
        // A column per transform that some row timed, in the transforms' order.
        let names = WinogradTransform.all.map(\.name).filter { n in rows.contains { $0.winogradGFLOPs[n] != nil } }
        var t = TextTable(header: ["layer", "thr", "im2col dW"] + names + ["best", "speed-up"])
        t.rightAligned = Set(1..<(3 + names.count)).union([4 + names.count])
        for r in rows {
            let cells = names.map { r.winogradGFLOPs[$0].map { Format.g($0) } ?? "—" }
            t.rows.append(
                [r.layer, "\(r.threads)", Format.g(r.im2colGFLOPs)] + cells + [
                    r.best, "\(Format.g(r.speedup, 2)) (\(Format.g(r.speedupMin, 2))–\(Format.g(r.speedupMax, 2)))",
                ])
        }
        return """
            Weight gradient (training), direct-equivalent GFLOP/s, im2col's colᵀ·dy and the Winograd weight \
            gradient timed alternately; speed-up: the best transform over im2col, median (min–max) of the rounds' \
            ratios:
            \(t.render())
            """
    }
}

/// `cnnscope bench`'s results: the forward rows, the weight-gradient rows and the FMA peak.
public struct SpeedGoalReport: Codable {
    public var rows: [BenchRow]
    public var weightGradient: [WeightGradientBenchRow]
    public var peakPerThreadGFLOPs: Double
    public var batch: Int
    public var repetitions: Int
    /// The widest ISA the kernels ran (scalar, avx2, avx512), OpenBLAS' kernel family (no cap
    /// reaches it), and the FMA microkernel of the peak: that of the wider of the two.
    public var kernelISA: String
    public var blasCore: String
    public var peakKernel: String

    /// The text `cnnscope bench` prints (pure).
    public var text: String {
        "Kernels: \(kernelISA), OpenBLAS \(blasCore); FMA peak from the \(peakKernel) microkernel\n"
            + BenchRow.text(rows, peak: peakPerThreadGFLOPs, batch: batch, repetitions: repetitions) + "\n\n"
            + WeightGradientBench.text(weightGradient)
    }
}
