import Figures
import Foundation

/// The lab's Part 7 `all_df`: every model of every run (each data set's lab, the transfer models)
/// in one table with a Dataset column, and the winners chosen across all of them (pure).
public struct AllModelsTable: Codable, Sendable {
    public struct Row: Codable, Sendable, Equatable {
        public var model: String
        public var dataset: String
        public var accuracyPercent: Double
        public var trainingSeconds: Double
        public var inferenceMs: Double
        public var parameters: Int
        public var trainableParameters: Int
        public var parametersPerSecond: Double
        /// The lab's formula, computed from the accuracy and the parameters (not read from the file).
        public var accuracyPerMillionParameters: Double

        public init(
            model: String, dataset: String, accuracy: Double, trainingSeconds: Double, inferenceMs: Double,
            parameters: Int, trainableParameters: Int
        ) {
            self.model = model; self.dataset = dataset; accuracyPercent = accuracy * 100
            self.trainingSeconds = trainingSeconds; self.inferenceMs = inferenceMs; self.parameters = parameters
            self.trainableParameters = trainableParameters
            parametersPerSecond = trainingSeconds > 0 ? Double(parameters) / trainingSeconds : 0
            accuracyPerMillionParameters = LabFormulas.accuracyPerMillionParameters(
                accuracy: accuracy, parameters: parameters)
        }
    }

    public var schema = "cnnscope.all-models/1"
    public var rows: [Row]
    public var sources: [String]

    public init(rows: [Row], sources: [String]) {
        self.rows = rows
        self.sources = sources
    }

    /// One row per model of a lab run, labelled with its data set.
    public static func rows(_ lab: LabReport) -> [Row] {
        lab.models.map {
            Row(
                model: "\($0.name) (\(lab.dataset))", dataset: lab.dataset, accuracy: $0.testAccuracy,
                trainingSeconds: $0.trainingSeconds, inferenceMs: $0.inferenceMsPerImage,
                parameters: $0.totalParameters,
                trainableParameters: $0.trainableParameters)
        }
    }

    /// The lab's three picks: best accuracy, fastest inference, most parameter-efficient.
    public var winners: [(criterion: String, row: Row)] {
        var out: [(String, Row)] = []
        if let r = rows.max(by: { $0.accuracyPercent < $1.accuracyPercent }) {
            out.append(("Best Model for Accuracy", r))
        }
        if let r = rows.min(by: { $0.inferenceMs < $1.inferenceMs }) {
            out.append(("Best Model for Inference Speed", r))
        }
        if let r = rows.max(by: { $0.accuracyPerMillionParameters < $1.accuracyPerMillionParameters }) {
            out.append(("Most Parameter-Efficient Model", r))
        }
        return out
    }

    public var markdown: String {
        var md = [
            "# All models comparison", "", "From: " + sources.joined(separator: ", "), "",
            """
            | Model | Dataset | Accuracy (%) | Training Time (s) | Inference Time (ms) | Parameters | Trainable \
            Params | Params/Second | Accuracy/Million Params |
            """,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows {
            md.append(
                "| \(r.model) | \(r.dataset) | \(String(format: "%.2f", r.accuracyPercent)) | "
                    + "\(String(format: "%.1f", r.trainingSeconds)) | \(String(format: "%.4f", r.inferenceMs)) | "
                    + "\(Format.grouped(r.parameters)) | \(Format.grouped(r.trainableParameters)) | "
                        + """
                        \(String(format: "%.0f", r.parametersPerSecond)) | \
                        \(String(format: "%.2f", r.accuracyPerMillionParameters)) |
                        """
            )
        }
        md.append("")
        for (criterion, r) in winners {
            let value: String
            switch criterion {
            case "Best Model for Accuracy": value = String(format: "%.2f%%", r.accuracyPercent)
            case "Best Model for Inference Speed": value = String(format: "%.4f ms", r.inferenceMs)
            default: value = String(format: "%.2f accuracy per million parameters", r.accuracyPerMillionParameters)
            }
            md.append("- \(criterion): **\(r.model)** (\(value))")
        }
        md.append("")
        md.append(
            "Times are measured (on the machines the runs name); accuracies computed on each data set's test images.")
        return md.joined(separator: "\n") + "\n"
    }

    public var csv: String {
        var lines = [
            ([
                "model", "dataset", "accuracy_percent", "training_s", "inference_ms", "parameters",
                "trainable_parameters", "params_per_second", "accuracy_per_million_params",
            ].joined(separator: ","))
        ]
        for r in rows {
            lines.append(
                CSVRow.line([
                    r.model, r.dataset, "\(r.accuracyPercent)", "\(r.trainingSeconds)", "\(r.inferenceMs)",
                    "\(r.parameters)", "\(r.trainableParameters)", "\(r.parametersPerSecond)",
                    "\(r.accuracyPerMillionParameters)",
                ]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The lab's Part 7 as one self-contained page: the all-models table, the three winners, and
    /// two charts (accuracy against parameters, inference time per model).
    public var html: String {
        let esc = HTMLRenderer.escape
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>cnnscope: all models comparison</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#eee}.num{text-align:right}
            .charts{display:flex;flex-wrap:wrap;gap:16px}</style></head><body>
            <h1>All models comparison</h1>

            """
        h += "<p>From: \(esc(sources.joined(separator: ", ")))</p>\n<table><tr>"
        for c in [
            "Model", "Dataset", "Accuracy (%)", "Training Time (s)", "Inference Time (ms)", "Parameters",
            "Trainable Params", "Params/Second", "Accuracy/Million Params",
        ] { h += "<th>\(c)</th>" }
        h += "</tr>\n"
        for r in rows {
            h += "<tr><td>\(esc(r.model))</td><td>\(esc(r.dataset))</td>"
            h += "<td class=num>\(String(format: "%.2f", r.accuracyPercent))</td>"
            h += "<td class=num>\(String(format: "%.1f", r.trainingSeconds))</td>"
            h += "<td class=num>\(String(format: "%.4f", r.inferenceMs))</td>"
            h += "<td class=num>\(Format.grouped(r.parameters))</td>"
            h += "<td class=num>\(Format.grouped(r.trainableParameters))</td>"
            h += "<td class=num>\(String(format: "%.0f", r.parametersPerSecond))</td>"
            h += "<td class=num>\(String(format: "%.2f", r.accuracyPerMillionParameters))</td></tr>\n"
        }
        h += "</table>\n<h2>Winners</h2>\n<ul>\n"
        for (criterion, r) in winners {
            h += "<li>\(esc(criterion)): <b>\(esc(r.model))</b> (\(esc(r.dataset)))</li>\n"
        }
        h += "</ul>\n<div class=charts>\n"
        h += Charts.scatter(
            title: "Accuracy against parameters",
            points: rows.map { ("\($0.model) (\($0.dataset))", Double($0.parameters), $0.accuracyPercent) },
            xLabel: "parameters (log)", yLabel: "test accuracy (%)", logX: true)
        h += Charts.bars(
            title: "Inference time per image", items: rows.map { ("\($0.model) (\($0.dataset))", $0.inferenceMs) },
            yLabel: "ms per image")
        h += "</div>\n<p>Times are measured (on the machines the runs name); accuracies computed on each data set's "
        h += "test images; parameters counted from the models.</p>\n</body></html>\n"
        return h
    }
}
