import ArgumentParser
import Foundation
import Profiling
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from Profiles/models and print the lab's results.",
        discussion: """
            Trains with mini-batches (Adam or SGD from the profile), validates after every epoch on the lab's split \
            (the last 6,000 MNIST or 5,000 CIFAR-10 training images), optionally stops early on val_accuracy and \
            restores the best weights, then reports test accuracy and loss, training time, inference time per image, \
            parameter counts and accuracy per million parameters. Results (JSON with the history) and the trained \
            weights (.cnnw) are saved in the output folder.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var algorithm: AlgorithmOption
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption
    @OptionGroup var machineOptions: MachineOptions
    @Option(help: "The most epochs to train (EarlyStopping usually ends sooner), as the lab's model.fit(epochs=...).")
    var epochs = LabDefaults.epochs
    @Option(help: "Mini-batch size.") var batchSize = 64
    @Option(
        help: """
            EarlyStopping on val_accuracy with restore_best_weights, as the lab: stop when it has not improved for \
            this many epochs (0 turns it off).
            """)
    var patience = LabDefaults.patience
    @Flag(
        help: """
            Augment the training batches: random rotations of up to 10 degrees, shifts of up to 2 pixels, and \
            horizontal flips for colour images.
            """)
    var augment = false
    @Flag(
        help: """
            Train only the classifier (the trailing Dense layers; the last one sized to the data set's classes) and \
            keep every layer before it frozen: fine-tuning an imported ONNX model whose graph ends in Gemm or MatMul.
            """)
    var classifierOnly = false
    @Option(help: "Override the profile's learning rate.") var learningRate: Double?
    @Option(help: "Seed for initialisation, shuffling and dropout, so a run can be repeated exactly.")
    var seed: UInt64 = 42
    @Option(
        help: """
            Folder for results.json and weights.cnnw; the default is \
            ~/.local/share/cnnscope/reports/<machine identity>/train-<model>-<time>.
            """)
    var output: String?

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> TrainingJob {
        var j = TrainingJob(model: modelOptions.model)
        (j.data, j.convAlgorithm, j.epochs, j.batchSize, j.patience) =
            (data.selection(), algorithm.convAlgorithm, epochs, batchSize, patience)
        (j.augment, j.classifierOnly, j.learningRate, j.seed, j.eventSet, j.output) =
            (augment, classifierOnly, learningRate, seed, eventsOption.events, output)
        return j
    }

    func run() throws {
        let progress = TrainingProgress(redraw: isatty(STDOUT_FILENO) != 0) { text in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        _ = try job().run(in: try execution.environment(machineOptions), progress: progress)
    }
}
