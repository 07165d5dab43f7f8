import Foundation
import Profiling
import Reports
import Training

/// Which models the lab trains.
public enum LabModels {
    /// The lab's eight CNNs and the fully connected baseline, in the lab's order.
    public static let all = [
        "basic-cnn", "shallow-cnn", "deep-cnn", "wide-cnn", "tiny-cnn", "small-filters", "large-filters",
        "mixed-filters", "fcnn",
    ]
    /// `--quick`: one of each kind.
    public static let quick = ["basic-cnn", "tiny-cnn", "fcnn"]
    /// `--challenges`: the lab's optional ResNet-style and Inception-style models.
    public static let challenges = ["resnet-mini", "inception-mini"]

    /// Loads `names` (profile names, .yaml paths, .onnx or .keras files); with the pooling study,
    /// basic-cnn (first) and its average-pooling twin `basic-cnn-avgpool` (last) are added.
    public static func profiles(_ names: [String], poolingStudy: Bool, in folder: ProfilesFolder?) throws
        -> [ModelProfile]
    {
        var profiles = try names.map { try ProfilesFolder.model($0, in: folder) }
        guard poolingStudy else { return profiles }
        let basic = try ProfilesFolder.model("basic-cnn", in: folder)
        var avg = basic
        avg.name = "basic-cnn-avgpool"
        avg.description = "basic-cnn with average instead of max pooling (pooling study)"
        for i in avg.convBlocks.indices { avg.convBlocks[i].poolType = .avg }
        if !profiles.contains(where: { $0.name == "basic-cnn" }) { profiles.insert(basic, at: 0) }
        profiles.append(avg)
        return profiles
    }

    /// The console's closing table: one line per model.
    public static func summaryTable(_ report: LabReport) -> String {
        var t = TextTable(header: [
            "model", "test acc", "train s", "ms/image", "params", "acc/M params", "GFLOP/s (inference)",
        ])
        t.rightAligned = [1, 2, 3, 4, 5, 6]
        for m in report.models {
            t.rows.append([
                m.name, String(format: "%.2f%%", m.testAccuracy * 100), String(format: "%.1f", m.trainingSeconds),
                String(format: "%.4f", m.inferenceMsPerImage), "\(m.totalParameters)",
                String(format: "%.3f", m.accuracyPerMillionParameters),
                String(format: "%.1f", m.modelGFLOPs.value ?? 0),
            ])
        }
        return t.render()
    }
}
