import Foundation
import Training

/// Per-epoch progress as text: a redrawn bar on a terminal, one line per epoch otherwise.
public final class TrainingProgress {
    public let redraw: Bool
    private let write: (String) -> Void
    private var lastDraw = 0.0

    /// `redraw`: the output is a terminal (the bar is redrawn in place with a carriage return).
    public init(redraw: Bool, write: @escaping (String) -> Void) { (self.redraw, self.write) = (redraw, write) }

    public func step(_ p: StepProgress) {
        guard redraw, p.elapsed - lastDraw > 0.1 || p.step == p.steps else { return }
        lastDraw = p.elapsed
        let width = 30
        let done = width * p.step / max(1, p.steps)
        let bar =
            String(repeating: "=", count: done) + (done < width ? ">" : "")
            + String(repeating: " ", count: max(0, width - done - 1))
        write(
            String(
                format: "\rEpoch %d/%d [%@] %d/%d ETA %.0fs %.0f img/s loss %.4f acc %.4f",
                p.epoch, p.epochs, bar, p.step, p.steps, p.eta, p.imagesPerSecond, p.loss, p.accuracy))
    }

    public func epochEnded(_ r: EpochRecord, epochs: Int) {
        if redraw { write("\r\u{1B}[K") }
        var line = String(
            format: "Epoch %d/%d: %.1fs %.0f img/s loss %.4f accuracy %.4f", r.epoch, epochs, r.seconds,
            r.imagesPerSecond, r.loss, r.accuracy)
        if let vl = r.valLoss, let va = r.valAccuracy {
            line += String(format: " val_loss %.4f val_accuracy %.4f", vl, va)
        }
        write(line + "\n")
    }
}
