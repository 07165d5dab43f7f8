import Foundation
import Reports

/// transfer's report.md (pure: results to text).
public enum TransferRenderer {
    public static func markdown(_ r: TransferResults) -> String {
        let header = [
            "model", "run", "test accuracy", "training s", "inference ms/img", "params", "trainable",
            "accuracy per M params", "epochs", "lr", "train images",
        ]
        var table =
            "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for x in r.runs {
            let cells = [
                x.name, x.mode, String(format: "%.2f%%", x.testAccuracy * 100),
                String(format: "%.1f", x.trainingSeconds),
                String(format: "%.3f", x.inferenceMsPerImage), Format.grouped(x.totalParameters),
                Format.grouped(x.trainableParameters), String(format: "%.2f", x.accuracyPerMillionParameters),
                "\(x.epochs)", "\(x.learningRate)", "\(x.trainImages)",
            ]
            table += "| " + cells.joined(separator: " | ") + " |\n"
        }
        let batchNorm =
            r.batchNormRecalibrationBatches > 0
            ? "Batch-norm layers that trained had their moving statistics re-estimated over "
                + "\(r.batchNormRecalibrationBatches) training batches after each run (--bn-recalibration 0 keeps "
                + "Keras's momentum-0.999 averages)."
            : "Batch-norm moving statistics as trained (momentum averages, no re-estimation)."
        return """
            # Transfer learning: \(r.base), \(r.dataset), input \(r.inputSize.map(String.init).joined(separator: "x"))

            Experiment: \(r.experiment).
            \(r.imported.map { "Base: \($0).\n" } ?? "")
            Classes: \(r.classes.joined(separator: ", ")). Times measured on \(r.threads) thread(s) (training time \
            includes the batch-norm re-estimation); accuracies on the test images.
            \(batchNorm)

            \(table)
            Sample predictions:
            \(r.samplePredictions.map { "- \($0)" }.joined(separator: "\n"))

            """
    }

    /// The lab's display_predictions as one self-contained page: each image with its true and
    /// predicted class, the title green when right and red when wrong.
    public static func predictionsHTML(_ samples: [TransferSample], title: String) -> String {
        var h =
            """
            <!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta \
            charset=\"utf-8\"/>\n
            """
        h += "<title>\(HTMLRenderer.escape(title))</title>\n</head>\n<body style=\"font-family: sans-serif\">\n"
        h += "<h1>\(HTMLRenderer.escape(title))</h1>\n"
        return h + figures(samples.map { ($0.png, $0.truth, $0.predicted) }) + "</body>\n</html>\n"
    }

    /// Images with "True / Pred" titles, green when right and red when wrong (the lab's
    /// display_predictions); a predicted class of nil gives a plain "Class" title (training samples).
    public static func figures(_ items: [(png: [UInt8], truth: String, predicted: String?)]) -> String {
        var h = "<div>\n"
        for s in items {
            let colour = s.predicted.map { $0 == s.truth ? "green" : "red" } ?? "black"
            h += "<figure style=\"display: inline-block; margin: 6px; text-align: center\">"
            h += "<img alt=\"\(HTMLRenderer.escape(s.truth))\" "
            h += "src=\"data:image/png;base64,\(Data(s.png).base64EncodedString())\"/>"
            if let p = s.predicted {
                h += "<figcaption style=\"color: \(colour)\">True: \(HTMLRenderer.escape(s.truth))<br/>"
                h += "Pred: \(HTMLRenderer.escape(p))</figcaption></figure>\n"
            } else {
                h += "<figcaption>\(HTMLRenderer.escape(s.truth))</figcaption></figure>\n"
            }
        }
        return h + "</div>\n"
    }
}
