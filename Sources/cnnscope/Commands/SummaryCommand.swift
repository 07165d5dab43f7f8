import ArgumentParser
import Foundation
import Layers
import Profiling
import Reports
import Runtime
import Training

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a model's layers as Keras' model.summary() does, with FLOPs and bytes per image.",
        discussion: """
            Layer, output shape and parameters as Keras reports them (total, trainable and \
            non-trainable), plus two modelled columns per layer for one image: forward FLOPs and the \
            minimum bytes moved (input and parameters read once, output written once).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(
        help:
            """
            The input shape, 28x28x1 (MNIST-like) or 32x32x3 (CIFAR-10); the default is the profile's own \
            input_shape (224x224x3 for mobilenetv2 and vgg16), else 28x28x1.
            """
    )
    var inputShape: String?

    @Flag(
        help:
            """
            For a base (a profile with a head: section, such as mobilenetv2), include the classifier head; \
            without it the summary is Keras's include_top=False model.
            """
    )
    var withHead = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws { if let s = inputShape { _ = try parseInputShape(s) } }

    struct Row: Codable {
        var name: String; var type: String; var outputShape: [Int]; var parameters: Int; var forwardFLOPs: Double;
        var forwardBytes: Double
        /// For graph models: the layers read ("Connected to" in Keras).
        var inputs: [String]?
    }
    struct Report: Codable {
        var schema = "cnnscope.summary/1"
        var model: String; var inputShape: [Int]; var layers: [Row]
        var totalParameters: Int; var trainableParameters: Int; var nonTrainableParameters: Int
        var forwardFLOPsPerImage: Double; var forwardBytesPerImage: Double
        var provenance = "parameters: counted from the model; FLOPs and bytes: modelled (formula)"
    }

    func run() throws {
        let p = try modelOptions.profile()
        let shape = try inputShape.map(parseInputShape) ?? p.inputShape ?? [28, 28, 1]
        let model = try ModelBuilder.build(p, input: shape, includeHead: withHead || p.head.isEmpty, resizeTo: shape)
        let rows = model.layers.enumerated().map { i, l in
            Row(
                name: l.name, type: l.kerasClass, outputShape: l.outputShape, parameters: l.parameterCount,
                forwardFLOPs: l.cost().forwardFLOPs, forwardBytes: l.cost().forwardBytes,
                inputs: model.isChain ? nil : model.inputs[i].map { $0 < 0 ? "input" : model.layers[$0].name })
        }
        let r = Report(
            model: p.name, inputShape: model.inputShape, layers: rows, totalParameters: model.parameterCount,
            trainableParameters: model.trainableParameterCount,
            nonTrainableParameters: model.nonTrainableParameterCount,
            forwardFLOPsPerImage: rows.reduce(0) { $0 + $1.forwardFLOPs },
            forwardBytesPerImage: rows.reduce(0) { $0 + $1.forwardBytes })
        if json { print(try Console.json(r)); return }
        print(Self.text(r))
    }

    static func text(_ r: Report) -> String {
        let graph = r.layers.contains { $0.inputs != nil }
        var t = TextTable(
            header: ["Layer (type)", "Output Shape", "Param #", "FLOPs/image", "Min bytes/image"]
                + (graph ? ["Connected to"] : []))
        t.rightAligned = [2, 3, 4]
        for l in r.layers {
            t.rows.append(
                [
                    "\(l.name) (\(l.type))", "(None, " + l.outputShape.map(String.init).joined(separator: ", ") + ")",
                    Format.grouped(l.parameters), Format.grouped(Int(l.forwardFLOPs)), Format.bytes(l.forwardBytes),
                ]
                    + (graph ? [(l.inputs ?? []).joined(separator: ", ")] : []))
        }
        func mb(_ n: Int) -> String { Format.bytes(Double(n * 4)) }
        return """
            Model: "\(r.model)"  input (None, \(r.inputShape.map(String.init).joined(separator: ", ")))
            \(t.render())
             Total params: \(Format.grouped(r.totalParameters)) (\(mb(r.totalParameters)))
             Trainable params: \(Format.grouped(r.trainableParameters)) (\(mb(r.trainableParameters)))
             Non-trainable params: \(Format.grouped(r.nonTrainableParameters)) (\(mb(r.nonTrainableParameters)))
             Forward per image (modelled): \(Format.g(r.forwardFLOPsPerImage / 1e6, 2)) MFLOP, \
             \(Format.bytes(r.forwardBytesPerImage)) minimum traffic
            """
    }
}
