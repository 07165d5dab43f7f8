import Figures
import Foundation
import Hardware
import Layers
import Training

/// How fast the training steps ran in direct-equivalent FLOPs, against the machine's FMA peak:
/// the figure issue goals judge a training step by ("≥ 75% of the FMA peak").
public struct TrainingStepRate: Codable, Equatable, Sendable {
    /// Modelled: forward FLOPs of every layer (direct-equivalent: Winograd counted as the direct
    /// convolution it replaces), once more for the weight gradient of a layer that trains, and
    /// once more for the input gradient of a layer that passes one down.
    public var flopsPerImage: Double
    /// flopsPerImage × the measured images per second of the training steps (median over epochs;
    /// validation excluded).
    public var gflopsPerSecond: Double
    /// The FMA peak for the threads used, measured earlier on this machine; nil when this
    /// machine's ceilings were never measured (`cnnscope machine --measure`).
    public var fmaPeakGFLOPs: Double?
    public var fractionOfPeak: Double?
    /// The FMA peak measured beside the training, all threads, GFLOP/s: before the first epoch and after
    /// each one (nil when not measured). A VM's speed drifts by a fifth over minutes, so a ratio of two
    /// numbers measured at different times says as much about the host as about the kernels.
    public var besidePeaksGFLOPs: [Double]?
    /// Per epoch, its rate over the mean of the two peaks measured around it: the median over epochs, and
    /// the smallest and largest.
    public var fractionOfBesidePeak: Double?
    public var fractionOfBesidePeakMin: Double?
    public var fractionOfBesidePeakMax: Double?
    public var provenance =
        "FLOPs: modelled (layer formulas); time: measured (epochs' training steps); peak: measured (FMA microkernel, "
        + "earlier and, where listed, around each epoch)"

    public init(flopsPerImage: Double, gflopsPerSecond: Double, fmaPeakGFLOPs: Double?) {
        self.flopsPerImage = flopsPerImage
        self.gflopsPerSecond = gflopsPerSecond
        self.fmaPeakGFLOPs = fmaPeakGFLOPs
        fractionOfPeak = fmaPeakGFLOPs.map { gflopsPerSecond / $0 }
    }

    /// Direct-equivalent FLOPs of one training step per image of `model`, with the gradient flow
    /// of its last backward (`Sequential.updateGradientFlow`).
    public static func flopsPerImage(_ model: Sequential) -> Double {
        model.layers.reduce(0) { sum, l in
            let forward = l.cost().forwardFLOPs
            let trains = l.trainable && l.parameters.contains(where: \.trainable)
            return sum + forward * (1 + (trains ? 1 : 0) + (l.needsInputGradient ? 1 : 0))
        }
    }

    /// The FMA ceiling for `threads` threads from a machine's measured ceilings.
    public static func peak(_ fma: ComputePeak?, threads: Int) -> Double? {
        guard let fma else { return nil }
        return threads == fma.threads ? fma.allThreadsGFLOPs : fma.perThreadGFLOPs * Double(threads)
    }

    /// From the epochs' measured rates; `besidePeaks`, when given, holds the FMA peak measured before the
    /// first epoch and after each one (history.count + 1 values, else they are ignored).
    public static func measured(
        model: Sequential, history: [EpochRecord], fmaPeakGFLOPs: Double?, besidePeaks: [Double]? = nil
    ) -> TrainingStepRate? {
        let rates = Timing(history.map(\.imagesPerSecond).filter { $0.isFinite && $0 > 0 })
        guard rates.samples > 0 else { return nil }
        let flops = flopsPerImage(model)
        var rate = TrainingStepRate(
            flopsPerImage: flops, gflopsPerSecond: flops * rates.median / 1e9, fmaPeakGFLOPs: fmaPeakGFLOPs)
        if let peaks = besidePeaks, peaks.count == history.count + 1, peaks.allSatisfy({ $0.isFinite && $0 > 0 }) {
            let fractions = Timing(
                history.indices.compactMap { e -> Double? in
                    let ips = history[e].imagesPerSecond
                    guard ips.isFinite, ips > 0 else { return nil }
                    return flops * ips / 1e9 / ((peaks[e] + peaks[e + 1]) / 2)
                })
            if fractions.samples > 0 {
                rate.besidePeaksGFLOPs = peaks
                rate.fractionOfBesidePeak = fractions.median
                rate.fractionOfBesidePeakMin = fractions.min
                rate.fractionOfBesidePeakMax = fractions.max
            }
        }
        return rate
    }

    /// One line for the results table: the rate against the machine record's FMA peak.
    public var text: String {
        let rate = String(format: "%.1f GFLOP/s direct-equivalent", gflopsPerSecond)
        guard let peak = fmaPeakGFLOPs, let f = fractionOfPeak else {
            return rate + " (FMA peak unknown: run cnnscope machine --measure)"
        }
        return rate + String(format: ", %.0f%% of the %.1f GFLOP/s FMA peak", f * 100, peak)
    }

    /// The rate against the peaks measured around the epochs, when they were: "68% (56–76% over epochs) of
    /// 177.5 GFLOP/s (median)".
    public var besideText: String? {
        guard let f = fractionOfBesidePeak, let lo = fractionOfBesidePeakMin, let hi = fractionOfBesidePeakMax,
            let peaks = besidePeaksGFLOPs
        else { return nil }
        let range = lo == hi ? "" : String(format: " (%.0f–%.0f%% over epochs)", lo * 100, hi * 100)
        return String(format: "%.0f%%", f * 100) + range
            + String(format: " of %.1f GFLOP/s (median)", Timing(peaks).median)
    }
}
