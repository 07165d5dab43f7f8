import Foundation
import KerasWeights
import Kernels
import Layers
import Training

/// A Keras model brought into cnnscope: a graph profile (Keras's own layer names) whose
/// `initialValues` hold the trained weights, so every command that takes a profile takes it.
public struct KerasImportedModel {
    public var profile: ModelProfile
    /// keras_version from metadata.json ("unknown" without it).
    public var kerasVersion: String
    /// Weight values read from model.weights.h5.
    public var weightElements: Int
}

/// Reads Keras 3 `.keras` archives (`model.save("m.keras")`: config.json with the architecture,
/// model.weights.h5 with the weights). Sequential and Functional models of the layer types
/// cnnscope has; anything else is one error naming the file, the layer and its type.
public enum KerasModelImport {
    /// Whether a `--model` value names a Keras archive.
    public static func isKeras(_ path: String) -> Bool { path.lowercased().hasSuffix(".keras") }

    public static func load(path: String) throws -> KerasImportedModel {
        let archive = try ZipArchive(path: path)
        guard
            let config = try? JSONSerialization.jsonObject(with: Data(try archive.read("config.json")))
                as? [String: Any]
        else { throw KerasImportError("\(path): config.json is not a JSON object (is this a Keras 3 .keras file?)") }
        let metadata = (try? archive.read("metadata.json")).flatMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        }
        var graph = try KerasConfigGraph(config, file: path)
        let h5 = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cnnscope-keras-\(getpid())-\(UUID().uuidString).weights.h5")
        try Data(try archive.read("model.weights.h5")).write(to: h5)
        defer { try? FileManager.default.removeItem(at: h5) }
        let elements = try graph.readWeights(HDF5File(reading: h5.path))
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var profile = ModelProfile(
            name: stem, description: "Imported from \(path) (Keras \(graph.className) '\(graph.modelName)')",
            layers: graph.specs, inputShape: graph.inputShape, classes: graph.classes)
        profile.source = path
        profile.initialValues = graph.values
        profile.outputsProbabilities = graph.outputsProbabilities
        return KerasImportedModel(
            profile: profile, kerasVersion: metadata?["keras_version"] as? String ?? "unknown",
            weightElements: elements)
    }
}
