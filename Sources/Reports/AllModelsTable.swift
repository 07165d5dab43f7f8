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
            let name = r.model.contains(",") ? "\"\(r.model)\"" : r.model
            lines.append(
                "\(name),\(r.dataset),\(r.accuracyPercent),\(r.trainingSeconds),\(r.inferenceMs),\(r.parameters),"
                    + "\(r.trainableParameters),\(r.parametersPerSecond),\(r.accuracyPerMillionParameters)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
