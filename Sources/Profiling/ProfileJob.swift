import Datasets
import Foundation
import Kernels
import Reports
import Training

/// `cnnscope profile`: one model per layer and per algorithm, written as a report folder.
public struct ProfileJob {
    /// A profile name, .yaml path or .onnx file.
    public var model: String
    public var data = DataSelection()
    public var batchSize = 64
    /// Algorithm settings as `--algorithms` names them (auto included).
    public var algorithms = ["naive", "im2col", "winograd", "auto"]
    public var repetitions = 5
    /// A `.cnnw` file from `cnnscope train`, or nil for the seeded initialisation.
    public var weightsFile: String?
    public var trainingStep = false
    /// The report folder; nil is <reports>/<identity>/<model>-<time> (`RunEnvironment.reportsRoot`);
    /// `{machine}` in it is the identity.
    public var output: String?
    public var seed: UInt64 = 42
    /// Random images of this shape instead of the data set (the default for ImageNet bases).
    public var inputShape: [Int]?
    /// An event set to count per layer.
    public var eventSet: String?
    /// Read the counters around every layer call (`ModelProfileRequest.countersEveryCall`).
    public var countersEveryCall = false

    public init(model: String) { self.model = model }

    /// Checks the settings that need no machine.
    public func validate() throws {
        if batchSize < 1 { throw WorkflowError("--batch-size must be at least 1, got \(batchSize).") }
        if repetitions < 1 { throw WorkflowError("--repetitions must be at least 1, got \(repetitions).") }
        _ = try ConvAlgorithmKind.parseList(algorithms.joined(separator: ","))
    }

    /// Profiles, writes report.{json,csv,md,html} and returns the report with the lines to print.
    public func run(in env: RunEnvironment) throws -> (report: ProfileReport, folder: String, text: String) {
        let profile = try env.model(model)
        let (roofline, machine) = try env.roofline()
        let fixedShape = inputShape ?? profile.inputShape
        let weights = try weightsFile.map { w -> (data: Data, file: String) in
            guard let d = FileManager.default.contents(atPath: w) else {
                throw WorkflowError("\(w): cannot read the weight file")
            }
            return (d, w)
        }
        let profiler = ModelProfiler(
            pool: env.pool, threads: env.threads, options: env.options, session: try env.counterSession(eventSet),
            roofline: roofline, machine: machine, selector: env.selector)
        var request = ModelProfileRequest(
            profile: profile, batch: try batch(fixedShape: fixedShape, environment: env.environment),
            fixedShape: fixedShape, algorithms: algorithms, repetitions: repetitions, trainingStep: trainingStep,
            weights: weights, seed: seed,
            datasetLabel: fixedShape == nil ? data.dataset.rawValue : "synthetic (random images)",
            commandLine: env.commandLine, bind: env.runtime.settings.bind.rawValue)
        request.countersEveryCall = countersEveryCall
        var (report, overheadNotes) = try profiler.profile(request)
        report.hostSteal = env.finish().map { .of($0, .measured, "fraction") }
        let dir = env.outputFolder(output, name: profile.name)
        try ReportWriter.write(report, to: dir)
        let text =
            ([RunAssembler.summary(report)] + overheadNotes + [
                "Report: \(dir)/report.html (also report.json, report.csv, report.md)"
            ]).joined(separator: "\n")
        return (report, dir, text)
    }

    /// ImageNet bases (and --input-shape) run on random images of their own shape (time and
    /// counters do not depend on the pixel values); the lab's models on the data set's test images.
    func batch(fixedShape: [Int]?, environment: [String: String]) throws -> Dataset {
        if let shape = fixedShape { return Dataset.synthetic(count: batchSize, shape: shape, seed: seed) }
        let (train, _, test) = try data.load(seed: seed, environment: environment)
        let batch = (test.count >= batchSize ? test : train).prefix(batchSize)
        guard batch.count == batchSize else {
            throw WorkflowError("the data set has only \(batch.count) images; lower --batch-size")
        }
        return batch
    }
}
