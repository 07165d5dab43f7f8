import ArgumentParser
import Datasets
import Foundation
import Hardware
import Kernels
import Lab
import Layers
import Profiler
import Profiling
import Reports
import Runtime
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from Profiles/models and print the lab's results.",
        discussion: """
            Trains with mini-batches (Adam or SGD from the profile), validates after every epoch on \
            the lab's split (the last 6,000 MNIST or 5,000 CIFAR-10 training images), optionally stops \
            early on val_accuracy and restores the best weights, then reports test accuracy and loss, \
            training time, inference time per image, parameter counts and accuracy per million \
            parameters. Results (JSON with the history) and the trained weights (.cnnw) are saved in \
            the output folder.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var algorithm: AlgorithmOption
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption
    @OptionGroup var machineOptions: MachineOptions

    @Option(help: "The most epochs to train (EarlyStopping usually ends sooner), as the lab's model.fit(epochs=...).")
    var epochs = LabDefaults.epochs

    @Option(help: "Mini-batch size.")
    var batchSize = 64

    @Option(
        help:
            """
            EarlyStopping on val_accuracy with restore_best_weights, as the lab: stop when it has not improved \
            for this many epochs (0 turns it off).
            """
    )
    var patience = LabDefaults.patience

    @Flag(
        help:
            """
            Augment the training batches: random rotations of up to 10 degrees, shifts of up to 2 pixels, and \
            horizontal flips for colour images.
            """
    )
    var augment = false

    @Flag(
        help:
            """
            Train only the classifier (the trailing Dense layers; the last one sized to the data set's classes) \
            and keep every layer before it frozen: fine-tuning an imported ONNX model whose graph ends in Gemm \
            or MatMul.
            """
    )
    var classifierOnly = false

    @Option(help: "Override the profile's learning rate.")
    var learningRate: Double?

    @Option(help: "Seed for initialisation, shuffling and dropout, so a run can be repeated exactly.")
    var seed: UInt64 = 42

    @Option(
        help:
            "Folder for results.json and weights.cnnw; the default is Reports/<machine identity>/train-<model>-<time>.")
    var output: String?

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if batchSize < 1 || batchSize > 65536 {
            throw ValidationError("--batch-size must be between 1 and 65536, got \(batchSize).")
        }
        if patience < 0 { throw ValidationError("--patience must be 0 (off) or more, got \(patience).") }
        if let lr = learningRate, !(lr > 0 && lr < 10) {
            throw ValidationError("--learning-rate must be in (0, 10), got \(lr).")
        }
    }

    func run() throws {
        Console.lineBuffered()
        let loaded = try modelOptions.profile()
        let profile = classifierOnly ? try loaded.freezingAllButClassifier() : loaded
        let rt = execution.runtime()
        let (pool, threads, options) = (rt.pool, rt.threads, rt.options)
        let (train, validation, test) = try data.load(seed: seed)
        let input = train.imageShape
        let machine = try machineOptions.session(cpu: try? CPUFeatures.detect(), topology: rt.topology)
        let selector = machine.selector(options: options)
        let training = ModelTraining(
            pool: pool, threads: threads, options: options,
            profiledSession: eventsOption.events == nil ? nil : .some(try eventsOption.session(pool: pool)),
            machine: machine.identity.name)
        print(
            """
            Training \(profile.name) on \(data.dataset.rawValue): \(train.count) train, \(validation.count) \
            validation, \(test.count) test images, input \(input), batch \(batchSize), \(threads) \
            thread\(threads == 1 ? "" : "s"), conv \(algorithm.convAlgorithm)
            """
        )
        let bar = ProgressBar(enabled: isatty(STDOUT_FILENO) != 0)
        let (results, model, profiler) = try training.run(
            TrainingRequest(
                profile: profile, train: train, validation: validation, test: test,
                config: TrainConfig(
                    epochs: epochs, batchSize: batchSize, patience: patience > 0 ? patience : nil, seed: seed,
                    augment: augment),
                learningRate: learningRate, policy: algorithm.policy(selector: selector),
                datasetLabel: data.dataset.rawValue, commandLine: CommandLine.arguments.joined(separator: " ")),
            progress: { if bar.enabled { bar.update($0) } }, epochEnded: { bar.finish($0, epochs: epochs) })
        machine.keep(selector)
        print(TrainingResults.text(results))
        if let profiler, let rows = results.layerProfile {
            print("\nPer layer over the training steps:")
            print(LayerProfileTable.render(rows, session: profiler.session, overheadSeconds: profiler.overheadSeconds))
        }
        let dir = output ?? "Reports/\(machine.identity.name)/train-\(profile.name)-\(Self.timestamp())"
        try Console.writeAtomically(try Console.json(results) + "\n", to: dir + "/results.json")
        let weights = try WeightFile.encode(model)
        try Console.writeAtomically(data: weights, to: dir + "/weights.cnnw")
        print("Saved \(dir)/results.json and \(dir)/weights.cnnw")
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}

/// Per-epoch progress: a bar on a terminal, one line per epoch otherwise.
final class ProgressBar {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }
    private var lastDraw = 0.0

    func update(_ p: StepProgress) {
        guard p.elapsed - lastDraw > 0.1 || p.step == p.steps else { return }
        lastDraw = p.elapsed
        let width = 30
        let done = width * p.step / max(1, p.steps)
        let bar =
            String(repeating: "=", count: done) + (done < width ? ">" : "")
            + String(repeating: " ", count: max(0, width - done - 1))
        let line = String(
            format: "\rEpoch %d/%d [%@] %d/%d ETA %.0fs %.0f img/s loss %.4f acc %.4f",
            p.epoch, p.epochs, bar, p.step, p.steps, p.eta, p.imagesPerSecond, p.loss, p.accuracy)
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    func finish(_ r: EpochRecord, epochs: Int) {
        if enabled { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        var line = String(
            format: "Epoch %d/%d: %.1fs %.0f img/s loss %.4f accuracy %.4f", r.epoch, epochs, r.seconds,
            r.imagesPerSecond, r.loss, r.accuracy)
        if let vl = r.valLoss, let va = r.valAccuracy {
            line += String(format: " val_loss %.4f val_accuracy %.4f", vl, va)
        }
        print(line)
    }
}
