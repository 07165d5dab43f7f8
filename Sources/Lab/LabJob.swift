import Datasets
import Foundation
import Profiling
import Reports
import Training

/// `cnnscope lab`: the CNN lab end to end on one data set, written as one lab report.
public struct LabJob {
    public var data = DataSelection()
    /// The most epochs per model; nil is the lab's default (1 with `quick`).
    public var epochs: Int?
    public var patience = LabDefaults.patience
    /// Profile names; nil is the eight CNNs and fcnn (three with `quick`).
    public var models: [String]?
    /// 3,000 training images, one epoch, three models.
    public var quick = false
    public var augment = false
    public var poolingStudy = false
    public var quantize = false
    /// Which layers `quantize` makes int8 (by default those measured faster as int8).
    public var quantization = PostTrainingQuantization.Options()
    public var gradCAM = false
    /// The optional challenges: ResNet-style and Inception-style models join the run.
    public var challenges = false
    /// The report folder; nil is <reports>/<identity>/lab-<time> (`RunEnvironment.reportsRoot`).
    public var output: String?
    public var seed: UInt64 = 42
    /// How the data set is named in the report; nil is its --dataset name.
    public var datasetLabel: String?

    public init() {}

    public func validate() throws {
        if let e = epochs, e < 1 { throw WorkflowError("--epochs must be at least 1, got \(e).") }
        if patience < 0 { throw WorkflowError("--patience must be 0 (off) or more, got \(patience).") }
    }

    /// Trains, evaluates and profiles every model, writes the report, and returns it with the
    /// training set it used and the summary to print.
    public func run(in env: RunEnvironment) throws -> (report: LabReport, train: Dataset, text: String) {
        let names = (models ?? (quick ? LabModels.quick : LabModels.all)) + (challenges ? LabModels.challenges : [])
        let profiles = try LabModels.profiles(names, poolingStudy: poolingStudy, in: env.profiles)
        var selection = data
        if quick && selection.limit == nil { selection.limit = 3000 }
        let (train, validation, test) = try selection.load(seed: seed, environment: env.environment)
        let (roofline, machine) = try env.roofline()
        let dir = env.outputFolder(output, name: "lab")
        let runner = LabRunner(
            pool: env.pool, threads: env.threads, options: env.options, roofline: roofline, machine: machine,
            selector: env.selector, log: env.log)
        var request =
            LabRequest(
                profiles: profiles, train: train, validation: validation, test: test,
                epochs: epochs ?? (quick ? 1 : LabDefaults.epochs), patience: patience > 0 ? patience : nil,
                augment: augment, quantize: quantize, gradCAM: gradCAM, seed: seed,
                datasetLabel: datasetLabel ?? data.dataset.rawValue, commandLine: env.commandLine,
                bind: env.runtime.settings.bind.rawValue, output: dir)
        request.quantization = quantization
        let report = try runner.run(request)
        env.finish()
        return (
            report, train,
            LabModels.summaryTable(report) + "\n"
                + "Lab report: \(dir)/lab.html (also lab.md, lab.json, lab.csv, pictures/, profiles/)"
        )
    }
}
