import Foundation
import Reports

/// One shape at one thread count in `cnnscope bench`: each algorithm's direct-equivalent
/// GFLOP/s and the goal ratios (against oneDNN, `cblas_sgemm` alone, im2col, the FMA peak).
public struct BenchRow: Codable {
    public var layer: String
    public var threads: Int
    public var best: String
    public var bestGFLOPs: Double
    public var oneDNNGFLOPs: Double?
    public var ratioToOneDNN: Double?
    public var im2colGFLOPs: Double
    public var sgemmGFLOPs: Double
    public var im2colToSgemm: Double
    public var winogradF4GFLOPs: Double?
    public var winogradF4ToIm2col: Double?
    public var bestFractionOfPeak: Double
    public var perAlgorithm: [String: Double]
}

extension BenchRow {
    /// The row of one shape at `threads` from the algorithms' results, `cblas_sgemm` alone on the
    /// same GEMM, oneDNN's figure (when known) and the per-thread FMA peak.
    public init(
        layer: String, threads: Int, results rs: [ConvBenchResult], sgemmGFLOPs sg: Double, oneDNN d: Double?,
        peakPerThread peak: Double
    ) {
        let best = rs.max { $0.directGFLOPs < $1.directGFLOPs }!
        let im2col = rs.first { $0.algorithm == "im2col" }!
        let w4 = rs.first { $0.algorithm == "winograd-f4x3" }
        self.init(
            layer: layer, threads: threads, best: best.algorithm, bestGFLOPs: best.directGFLOPs, oneDNNGFLOPs: d,
            ratioToOneDNN: d.map { best.directGFLOPs / $0 }, im2colGFLOPs: im2col.directGFLOPs, sgemmGFLOPs: sg,
            im2colToSgemm: im2col.directGFLOPs / sg, winogradF4GFLOPs: w4?.directGFLOPs,
            winogradF4ToIm2col: w4.map { $0.directGFLOPs / im2col.directGFLOPs },
            bestFractionOfPeak: best.directGFLOPs / (peak * Double(threads)),
            perAlgorithm: Dictionary(uniqueKeysWithValues: rs.map { ($0.algorithm, $0.directGFLOPs) }))
    }

    /// `cnnscope bench`'s table and goals (pure).
    public static func text(_ rows: [BenchRow], peak: Double, batch: Int, repetitions: Int) -> String {
        var out = [
            String(
                format:
                    "FMA peak (measured): %.1f GFLOP/s per thread; batch %d; direct-equivalent GFLOP/s, medians of %d",
                peak, batch, repetitions)
        ]
        var t = TextTable(header: [
            "layer", "thr", "best", "GFLOP/s", "oneDNN", "best/oneDNN", "im2col", "sgemm alone", "im2col/sgemm",
            "wino F4", "F4/im2col", "direct-eq. % peak",
        ])
        t.rightAligned = Set(1..<12).subtracting([2])
        for r in rows {
            t.rows.append([
                r.layer, "\(r.threads)", r.best, Format.g(r.bestGFLOPs), r.oneDNNGFLOPs.map { Format.g($0) } ?? "—",
                r.ratioToOneDNN.map { Format.g($0, 2) } ?? "—", Format.g(r.im2colGFLOPs), Format.g(r.sgemmGFLOPs),
                Format.g(r.im2colToSgemm, 2), r.winogradF4GFLOPs.map { Format.g($0) } ?? "—",
                r.winogradF4ToIm2col.map { Format.g($0, 2) } ?? "—", Format.g(r.bestFractionOfPeak * 100, 0) + "%",
            ])
        }
        out.append(t.render())
        out.append(
            """
            direct-eq. % peak: the best algorithm's direct-equivalent GFLOP/s over the FMA peak of its threads \
            (modelled FLOPs over measured time); Winograd executes fewer FLOPs than the direct convolution it is \
            credited with, so it can pass 100% without running above the roof.
            Goals: best/oneDNN >= 1.00 on 3x3 layers with C >= 16; im2col/sgemm >= 0.85; F4/im2col >= 1.5 on \
            14x14x64->128 and 16x16x32->64.
            """
        )
        if rows.allSatisfy({ $0.oneDNNGFLOPs == nil }) {
            out.append(
                """
                oneDNN: no figures given, so no best/oneDNN ratio; Scripts/bench-conv measures oneDNN on this machine \
                and passes them with --onednn.
                """)
        }
        return out.joined(separator: "\n")
    }
}
