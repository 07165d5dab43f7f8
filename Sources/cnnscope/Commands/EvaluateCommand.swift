import ArgumentParser
import Figures
import Profiling

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a trained model on a data set's test images, as Keras's model.evaluate does.",
        discussion: """
            The model is a Keras 3 .keras archive, an ONNX file, or a profile with --weights (.cnnw, Keras .h5 or \
            .weights.h5). Prints the test accuracy and the sparse categorical cross-entropy of its softmax outputs.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var algorithm: AlgorithmOption
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var machineOptions: MachineOptions
    @Option(help: "Weights for a YAML profile: a .cnnw, Keras .h5 or Keras 3 .weights.h5 file.") var weights: String?
    @Option(help: "Images per forward pass.") var batchSize = 64
    @Option(help: "Also write every test image's predicted class to this CSV file.") var predictions: String?
    @Flag(help: "Print JSON instead of a line of text.") var json = false

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> EvaluationJob {
        var j = EvaluationJob(model: modelOptions.model)
        (j.weights, j.data, j.batchSize, j.convAlgorithm, j.predictions) =
            (weights, data.selection(), batchSize, algorithm.convAlgorithm, predictions)
        return j
    }

    func run() throws {
        let (result, text) = try job().run(in: try execution.environment(machineOptions))
        print(json ? try JSONText.pretty(result) : text)
    }
}
