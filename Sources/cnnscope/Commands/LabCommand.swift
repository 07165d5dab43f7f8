import ArgumentParser
import Datasets
import Figures
import Foundation
import Hardware
import Kernels
import Lab
import Layers
import Profiler
import Profiling
import Reports
import Roofline
import Runtime
import Tensor
import Training

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run the CNN lab end to end: train and evaluate every architecture and write one lab report.",
        discussion: """
            Trains basic-cnn, the seven variants and the fcnn baseline on the same data, evaluates \
            them, and writes lab.html (self-contained), lab.md, lab.json and lab.csv with: the \
            comparison table, the lab's four plots, training curves, normalised confusion matrices \
            with the most-confused pair, sample predictions, first-layer filters and feature maps \
            (basic-cnn and the most accurate model), CNN vs FCNN, the winners, and per model the \
            hardware view (time per layer, the algorithm auto chose, GFLOP/s and efficiency against \
            the roofline) with a full profile report. Pictures are also saved as PNG files. \
            Extensions, each behind its option: data augmentation, max vs average pooling, int8 \
            post-training quantisation (accuracy and speed against float) and Grad-CAM heatmaps.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions

    @Option(
        help: "The most epochs per model (EarlyStopping usually ends sooner); the default is 10, or 1 with --quick.")
    var epochs: Int?

    @Option(
        help:
            """
            EarlyStopping on val_accuracy with restore_best_weights, as the lab: stop when it has not improved \
            for this many epochs (0 turns it off).
            """
    )
    var patience = LabDefaults.patience

    @Option(help: "Comma-separated model profiles; the default is the eight CNNs and fcnn.")
    var models: String?

    @Flag(help: "A quick run: 3,000 training images, one epoch, three models (basic-cnn, tiny-cnn, fcnn).")
    var quick = false

    @Flag(
        help:
            """
            Extension: augment the training batches (random rotations of up to 10 degrees, shifts of up to 2 \
            pixels; horizontal flips for colour images).
            """
    )
    var augment = false

    @Flag(help: "Extension: also train basic-cnn with average pooling and compare it with max pooling.")
    var poolingStudy = false

    @Flag(
        help:
            """
            Extension: quantise every trained model to int8 after training (convolution and dense layers) and \
            compare accuracy and speed with float.
            """
    )
    var quantize = false

    @Flag(help: "Extension: Grad-CAM heatmaps over sample test images for basic-cnn and the most accurate CNN.")
    var gradCam = false

    @Option(help: "Report folder; the default is Reports/<machine identity>/lab-<time>.")
    var output: String?

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 42

    @OptionGroup var machineOptions: MachineOptions

    func validate() throws {
        if let e = epochs, e < 1 { throw ValidationError("--epochs must be at least 1, got \(e).") }
        if patience < 0 { throw ValidationError("--patience must be 0 (off) or more, got \(patience).") }
    }

    func run() throws {
        Console.lineBuffered()
        let names =
            models.map { $0.split(separator: ",").map(String.init) } ?? (quick ? LabModels.quick : LabModels.all)
        guard let modelsDir = ProfilesDirectory.locate()?.appendingPathComponent("models") else {
            throw CLIError("cannot find the Profiles/models folder; run from the repository or set CNNSCOPE_PROFILES")
        }
        let profiles = try LabModels.profiles(names, poolingStudy: poolingStudy, in: modelsDir)
        var dataOptions = data
        if quick && dataOptions.limit == nil { dataOptions.limit = 3000 }
        let (train, validation, test) = try dataOptions.load(seed: seed)
        let rt = execution.runtime()
        guard let snap = rt.topology else { throw CLIError("hwloc could not read the topology") }
        let topo = rt.hwloc
        let cpu = try CPUFeatures.detect()
        let (pool, threads, options) = (rt.pool, rt.threads, rt.options)
        let machine = try machineOptions.session(cpu: cpu, topology: snap)
        let ceilings = machine.ceilings(cpu: cpu, topology: snap, hwloc: topo)
        let roofline = RooflineBuilder.roofline(ceilings, threads: threads, topology: snap)
        let selector = machine.selector(options: options)
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        let dir = output ?? "Reports/\(machine.identity.name)/lab-\(TrainCommand.timestamp())"

        let runner = LabRunner(
            pool: pool, threads: threads, options: options, roofline: roofline,
            machine: RunAssembler.machineSummary(
                snap, cpu: cpu, pmus: pmus, ceilings: ceilings, identity: machine.identity),
            selector: selector, log: { print($0) })
        let report = try runner.run(
            LabRequest(
                profiles: profiles, train: train, validation: validation, test: test,
                epochs: epochs ?? (quick ? 1 : LabDefaults.epochs),
                patience: patience > 0 ? patience : nil,
                augment: augment, quantize: quantize, gradCAM: gradCam, seed: seed, datasetLabel: data.dataset.rawValue,
                commandLine: CommandLine.arguments.joined(separator: " "), bind: execution.bind.rawValue, output: dir))
        machine.keep(selector)
        print(LabModels.summaryTable(report))
        print("Lab report: \(dir)/lab.html (also lab.md, lab.json, lab.csv, pictures/, profiles/)")
    }
}
