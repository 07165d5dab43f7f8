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
    public var provenance =
        "FLOPs: modelled (layer formulas); time: measured (epochs' training steps); peak: measured (FMA microkernel)"

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

    /// From the epochs' measured rates.
    public static func measured(
        model: Sequential, history: [EpochRecord], fmaPeakGFLOPs: Double?
    ) -> TrainingStepRate? {
        let rates = Timing(history.map(\.imagesPerSecond).filter { $0.isFinite && $0 > 0 })
        guard rates.samples > 0 else { return nil }
        let flops = flopsPerImage(model)
        return TrainingStepRate(
            flopsPerImage: flops, gflopsPerSecond: flops * rates.median / 1e9, fmaPeakGFLOPs: fmaPeakGFLOPs)
    }

    /// One line for the results table.
    public var text: String {
        let rate = String(format: "%.1f GFLOP/s direct-equivalent", gflopsPerSecond)
        guard let peak = fmaPeakGFLOPs, let f = fractionOfPeak else {
            return rate + " (FMA peak unknown: run cnnscope machine --measure)"
        }
        return rate + String(format: ", %.0f%% of the %.1f GFLOP/s FMA peak", f * 100, peak)
    }
}
