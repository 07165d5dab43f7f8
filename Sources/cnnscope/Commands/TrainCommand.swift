import ArgumentParser
import Datasets
import Foundation
import Hardware
import Kernels
import Layers
import Profiler
import Profiling
import Reports
import Runtime
import Training

/// The lab's results for one trained model.
struct TrainingResults: Codable {
    var schema = "cnnscope.train/1"
    /// The machine identity the run was measured on (nil in files of older versions).
    var machine: String?
    var model: String
    var dataset: String
    var inputShape: [Int]
    var testAccuracy: Double
    var testLoss: Double
    var trainingSeconds: Double
    var inferenceMsPerImage: Double
    var inferenceBatchSize: Int
    var inferenceMsPerImageBatch1: Double
    var totalParameters: Int
    var trainableParameters: Int
    var nonTrainableParameters: Int
    /// Total parameters divided by training seconds, as the lab's table has it.
    var parametersPerSecond: Double
    /// Test accuracy (0..1) divided by millions of parameters.
    var accuracyPerMillionParameters: Double
    var epochsTrained: Int
    var stoppedEarly: Bool
    var bestEpoch: Int?
    var batchSize: Int
    var trainImages: Int
    var validationImages: Int
    var testImages: Int
    var seed: UInt64
    var threads: Int
    var convAlgorithms: [String: String]
    var history: [EpochRecord]
    var layerProfile: [LayerProfileRow]?
    var peakResidentMB: Double?
    var commandLine: String
    var provenance = "times: measured (monotonic clock); accuracies and losses: computed on the data; parameters: counted from the model"
}

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

    @Option(help: "Number of epochs.")
    var epochs = 1

    @Option(help: "Mini-batch size.")
    var batchSize = 64

    @Option(help: "Stop when val_accuracy has not improved for this many epochs and restore the best weights (off when not given).")
    var patience: Int?

    @Flag(help: "Augment the training batches: random shifts of up to 2 pixels, and horizontal flips for colour images.")
    var augment = false

    @Option(help: "Override the profile's learning rate.")
    var learningRate: Double?

    @Option(help: "Seed for initialisation, shuffling and dropout, so a run can be repeated exactly.")
    var seed: UInt64 = 42

    @Option(help: "Folder for results.json and weights.cnnw; the default is Reports/<machine identity>/train-<model>-<time>.")
    var output: String?

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if batchSize < 1 || batchSize > 65536 { throw ValidationError("--batch-size must be between 1 and 65536, got \(batchSize).") }
        if let p = patience, p < 1 { throw ValidationError("--patience must be at least 1, got \(p).") }
        if let lr = learningRate, !(lr > 0 && lr < 10) { throw ValidationError("--learning-rate must be in (0, 10), got \(lr).") }
    }

    func run() throws {
        Console.lineBuffered()
        let profile = try modelOptions.profile()
        let rt = execution.runtime()
        let (pool, threads, options) = (rt.pool, rt.threads, rt.options)
        let (train, validation, test) = try data.load(seed: seed)
        let input = train.imageShape
        let machine = try machineOptions.session(cpu: try? CPUFeatures.detect(), topology: rt.topology)
        let selector = machine.selector(options: options)
        let model = try ModelBuilder.build(profile, input: input, policy: algorithm.policy(selector: selector), options: options, seed: seed)
        let trainer = Trainer(model: model, optimizer: Trainer.optimizer(for: profile, learningRate: learningRate), runner: pool, seed: seed)
        let session = try eventsOption.session(pool: pool)
        let profiler = eventsOption.events == nil ? nil : LayerProfiler(session: session)
        profiler?.calibrate()
        model.observer = profiler

        print("Training \(profile.name) on \(data.dataset.rawValue): \(train.count) train, \(validation.count) validation, \(test.count) test images, input \(input), \(Format.grouped(model.parameterCount)) parameters, batch \(batchSize), \(threads) thread\(threads == 1 ? "" : "s"), conv \(algorithm.convAlgorithm)")
        let bar = ProgressBar(enabled: isatty(STDOUT_FILENO) != 0)
        let t0 = Date()
        let history = trainer.fit(train: train, validation: validation,
                                  config: TrainConfig(epochs: epochs, batchSize: batchSize, patience: patience, seed: seed, augment: augment),
                                  progress: { p in
                                      if bar.enabled { bar.update(p) }
                                      // More events than counters: rotate the parts step by step.
                                      if let s = session, s.parts.count > 1 { try? s.select(part: p.step % s.parts.count) }
                                  },
                                  epochEnded: { bar.finish($0, epochs: epochs) })
        let trainingSeconds = Date().timeIntervalSince(t0)
        model.observer = nil
        let layerRows = profiler.map { LayerProfileTable.rows($0) }
        let (_, testLoss, testAcc) = trainer.predict(test, batchSize: batchSize)
        let inf = trainer.inferenceSecondsPerImage(test, images: 1000, batchSize: batchSize)
        let inf1 = trainer.inferenceSecondsPerImage(test, images: 200, batchSize: 1)
        machine.keep(selector)

        var algos: [String: String] = [:]
        for l in model.layers { if let c = l as? Conv2DLayer, let a = c.lastAlgorithm { algos[c.name] = a.rawValue } }
        let results = TrainingResults(
            machine: machine.identity.name, model: profile.name, dataset: data.dataset.rawValue, inputShape: input, testAccuracy: testAcc, testLoss: testLoss,
            trainingSeconds: trainingSeconds, inferenceMsPerImage: inf * 1e3, inferenceBatchSize: batchSize,
            inferenceMsPerImageBatch1: inf1 * 1e3, totalParameters: model.parameterCount,
            trainableParameters: model.trainableParameterCount, nonTrainableParameters: model.nonTrainableParameterCount,
            parametersPerSecond: Double(model.parameterCount) / trainingSeconds,
            accuracyPerMillionParameters: testAcc / (Double(model.parameterCount) / 1e6),
            epochsTrained: history.count, stoppedEarly: trainer.stoppedEarly, bestEpoch: trainer.bestEpoch,
            batchSize: batchSize, trainImages: train.count, validationImages: validation.count, testImages: test.count,
            seed: seed, threads: threads, convAlgorithms: algos, history: history, layerProfile: layerRows,
            peakResidentMB: ResourceUsage.peakResidentMB(),
            commandLine: CommandLine.arguments.joined(separator: " "))
        print(Self.text(results))
        if let profiler, let layerRows {
            print("\nPer layer over the training steps:")
            print(LayerProfileTable.render(layerRows, session: session, overheadSeconds: profiler.overheadSeconds))
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

    static func text(_ r: TrainingResults) -> String {
        var t = TextTable(header: ["metric", "value"])
        t.rightAligned = [1]
        t.rows = [
            ["test accuracy", String(format: "%.2f%%", r.testAccuracy * 100)],
            ["test loss", String(format: "%.4f", r.testLoss)],
            ["training time", String(format: "%.1f s (%d epoch%@%@)", r.trainingSeconds, r.epochsTrained, r.epochsTrained == 1 ? "" : "s", r.stoppedEarly ? ", stopped early" : "")],
            ["inference per image (batch \(r.inferenceBatchSize))", String(format: "%.3f ms", r.inferenceMsPerImage)],
            ["inference per image (batch 1)", String(format: "%.3f ms", r.inferenceMsPerImageBatch1)],
            ["total parameters", Format.grouped(r.totalParameters)],
            ["trainable parameters", Format.grouped(r.trainableParameters)],
            ["non-trainable parameters", Format.grouped(r.nonTrainableParameters)],
            ["parameters per second of training", String(format: "%.0f", r.parametersPerSecond)],
            ["accuracy per million parameters", String(format: "%.3f", r.accuracyPerMillionParameters)],
            ["batch size", "\(r.batchSize)"],
            ["peak resident memory", r.peakResidentMB.map { String(format: "%.0f MB", $0) } ?? "unavailable"],
        ]
        if !r.convAlgorithms.isEmpty {
            t.rows.append(["convolution algorithms", r.convAlgorithms.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")])
        }
        return "Results (measured):\n" + t.render()
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
        let bar = String(repeating: "=", count: done) + (done < width ? ">" : "") + String(repeating: " ", count: max(0, width - done - 1))
        let line = String(format: "\rEpoch %d/%d [%@] %d/%d ETA %.0fs %.0f img/s loss %.4f acc %.4f",
                          p.epoch, p.epochs, bar, p.step, p.steps, p.eta, p.imagesPerSecond, p.loss, p.accuracy)
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    func finish(_ r: EpochRecord, epochs: Int) {
        if enabled { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        var line = String(format: "Epoch %d/%d: %.1fs %.0f img/s loss %.4f accuracy %.4f", r.epoch, epochs, r.seconds, r.imagesPerSecond, r.loss, r.accuracy)
        if let vl = r.valLoss, let va = r.valAccuracy { line += String(format: " val_loss %.4f val_accuracy %.4f", vl, va) }
        print(line)
    }
}

enum ResourceUsage {
    /// Peak resident set size of this process (VmHWM), in MB.
    static func peakResidentMB() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first
            return kb.map { $0 / 1024 }
        }
        return nil
    }
}
