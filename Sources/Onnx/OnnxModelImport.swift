import Foundation
import SwiftProtobuf
import Training

/// An ONNX model brought into cnnscope: a graph profile (NHWC layers in Keras's vocabulary) whose
/// `initialValues` hold the weights, so every command that takes a profile takes it.
public struct OnnxImportedModel {
    public var profile: ModelProfile
    /// The opset of the default domain the model was written for.
    public var opset: Int
    public var producer: String
    /// Element values of the float initializers that became weights.
    public var weightElements: Int
    /// ONNX's input shape (N, C, H, W), with N as imported.
    public var onnxInputShape: [Int]
}

/// Reads `.onnx` files (opsets 11–21), initializers inline, as `raw_data`, in external data
/// files beside the model, or in float16.
public enum OnnxModelImport {
    public static let opsets = 11...21

    /// Whether a `--model` value names an ONNX file.
    public static func isOnnx(_ path: String) -> Bool { path.lowercased().hasSuffix(".onnx") }

    /// Imports the file. `batch` is the batch size the exporters' shape subgraphs are folded for
    /// (default: the batch fixed in the model's input, else 1); cnnscope's layers themselves take
    /// any batch.
    public static func load(path: String, batch: Int? = nil) throws -> OnnxImportedModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OnnxError("\(path): cannot read the file")
        }
        return try load(data, file: path, folder: URL(fileURLWithPath: path).deletingLastPathComponent(), batch: batch)
    }

    public static func load(_ data: Data, file: String, folder: URL, batch requested: Int? = nil) throws
        -> OnnxImportedModel
    {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw OnnxError("\(file): not a readable ONNX model (protobuf decoding failed: \(error)); is it truncated?")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw OnnxError("\(file): the file holds no graph (is it an ONNX model?)")
        }
        let defaultDomain = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let version = defaultDomain.map({ Int($0.version) }) else {
            throw OnnxError("\(file): the model imports no opset of the default ONNX domain")
        }
        guard opsets.contains(version) else {
            throw OnnxError(
                "\(file): opset \(version) is outside the opsets cnnscope reads "
                    + "(\(opsets.lowerBound)–\(opsets.upperBound)); re-export with one of those")
        }
        // A batch fixed in the graph's input is the one its shape constants were exported for.
        let initialised = Set(model.graph.initializer.map(\.name))
        let fixed = model.graph.input.first { !initialised.contains($0.name) }
            .flatMap { $0.type.tensorType.shape.dim.first?.dimValue }.map(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let batch = requested ?? fixed ?? 1
        guard batch >= 1 else { throw OnnxError("\(file): the batch size must be at least 1, got \(batch)") }
        let importer = OnnxGraphImporter(file: file, folder: folder, opset: version, batch: batch)
        let (input, output) = try importer.run(model.graph)
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var profile = ModelProfile(
            name: stem, description: "Imported from \(file)", layers: importer.specs, inputShape: input,
            classes: output.shape.reduce(1, *))
        profile.source = file
        profile.initialValues = importer.values
        profile.outputsProbabilities = importer.outputsProbabilities
        return OnnxImportedModel(
            profile: profile, opset: version,
            producer: [model.producerName, model.producerVersion].filter { !$0.isEmpty }
                .joined(separator: " "),
            weightElements: importer.weightElements, onnxInputShape: [batch, input[2], input[0], input[1]])
    }
}
