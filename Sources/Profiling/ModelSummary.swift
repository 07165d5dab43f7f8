import Figures
import Foundation
import Layers
import Reports
import Training

/// `cnnscope summary`: a model's layers as Keras' model.summary() prints them, with forward
/// FLOPs and minimum bytes per image (modelled).
public struct ModelSummary: Codable {
    public struct Row: Codable {
        public var name: String
        public var type: String
        public var outputShape: [Int]
        public var parameters: Int
        public var forwardFLOPs: Double
        public var forwardBytes: Double
        /// For graph models: the layers read ("Connected to" in Keras).
        public var inputs: [String]?
    }

    public var schema = "cnnscope.summary/1"
    public var model: String
    public var inputShape: [Int]
    public var layers: [Row]
    public var totalParameters: Int
    public var trainableParameters: Int
    public var nonTrainableParameters: Int
    public var forwardFLOPsPerImage: Double
    public var forwardBytesPerImage: Double
    public var provenance = "parameters: counted from the model; FLOPs and bytes: modelled (formula)"

    /// The summary of `p` at `inputShape` (default: its own, else 28x28x1); a base's head only
    /// when `withHead` (Keras's include_top).
    public init(_ p: ModelProfile, inputShape: [Int]?, withHead: Bool) throws {
        let shape = inputShape ?? p.inputShape ?? [28, 28, 1]
        let model = try ModelBuilder.build(p, input: shape, includeHead: withHead || p.head.isEmpty, resizeTo: shape)
        layers = model.layers.enumerated().map { i, l in
            Row(
                name: l.name, type: l.kerasClass, outputShape: l.outputShape, parameters: l.parameterCount,
                forwardFLOPs: l.cost().forwardFLOPs, forwardBytes: l.cost().forwardBytes,
                inputs: model.isChain ? nil : model.inputs[i].map { $0 < 0 ? "input" : model.layers[$0].name })
        }
        self.model = p.name
        self.inputShape = model.inputShape
        totalParameters = model.parameterCount
        trainableParameters = model.trainableParameterCount
        nonTrainableParameters = model.nonTrainableParameterCount
        forwardFLOPsPerImage = layers.reduce(0) { $0 + $1.forwardFLOPs }
        forwardBytesPerImage = layers.reduce(0) { $0 + $1.forwardBytes }
    }

    /// Keras's table with the two modelled columns (pure).
    public var text: String {
        let graph = layers.contains { $0.inputs != nil }
        var t = TextTable(
            header: ["Layer (type)", "Output Shape", "Param #", "FLOPs/image", "Min bytes/image"]
                + (graph ? ["Connected to"] : []))
        t.rightAligned = [2, 3, 4]
        for l in layers {
            t.rows.append(
                [
                    "\(l.name) (\(l.type))", "(None, " + l.outputShape.map(String.init).joined(separator: ", ") + ")",
                    Format.grouped(l.parameters), Format.grouped(Int(l.forwardFLOPs)), Format.bytes(l.forwardBytes),
                ]
                    + (graph ? [(l.inputs ?? []).joined(separator: ", ")] : []))
        }
        func mb(_ n: Int) -> String { Format.bytes(Double(n * 4)) }
        return """
            Model: "\(model)"  input (None, \(inputShape.map(String.init).joined(separator: ", ")))
            \(t.render())
             Total params: \(Format.grouped(totalParameters)) (\(mb(totalParameters)))
             Trainable params: \(Format.grouped(trainableParameters)) (\(mb(trainableParameters)))
             Non-trainable params: \(Format.grouped(nonTrainableParameters)) (\(mb(nonTrainableParameters)))
             Forward per image (modelled): \(Format.g(forwardFLOPsPerImage / 1e6, 2)) MFLOP, \
             \(Format.bytes(forwardBytesPerImage)) minimum traffic
            """
    }
}
