import ArgumentParser
import Datasets
import Figures
import Foundation
import Hardware
import Kernels
import Layers
import Profiler
import Profiling
import Reports
import Roofline
import Runtime
import Tensor
import Training

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Profile a model on this machine per layer and per algorithm, and write a hardware report.",
        discussion: """
            For each algorithm and each layer: time (median, min–max, measured), FLOPs (direct and \
            executed) and bytes (minimum and the algorithm's own traffic) by formula, counted values \
            where the PMU allows, arithmetic intensity, attained GFLOP/s, the roof at that intensity \
            from the machine's measured ceilings, the efficiency and the bound. Writes report.json, \
            report.csv, report.md and a self-contained report.html to Reports/<machine identity>/<model>-<time>/.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption

    @Option(help: "Images per forward pass.")
    var batchSize = 64

    @Option(
        help:
            """
            Comma-separated algorithm settings to compare: naive, im2col, winograd (F(4x4,3x3)), winograd-f2x3, \
            winograd-f2x5 (5x5 layers), auto.
            """
    )
    var algorithms = "naive,im2col,winograd,auto"

    @Option(help: "Timed repetitions per algorithm (after one warm-up).")
    var repetitions = 5

    @Option(help: "Trained weights (.cnnw from cnnscope train) to load instead of the seeded initialisation.")
    var weights: String?

    @Flag(help: "Profile a training step (forward and backward) instead of inference.")
    var trainingStep = false

    @Option(
        help:
            "Report folder; the default is Reports/<machine identity>/<model>-<time>; {machine} in it is the identity.")
    var output: String?

    @OptionGroup var machineOptions: MachineOptions

    @Option(help: "Seed for initialisation and data order.")
    var seed: UInt64 = 42

    @Option(
        help:
            """
            Profile at this input shape (for example 224x224x3) on random images of that shape instead of the \
            data set; the default for ImageNet bases (mobilenetv2, vgg16) is their profile's input_shape.
            """
    )
    var inputShape: String?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions).") }
        if let s = inputShape { _ = try parseInputShape(s) }
        for a in algorithms.split(separator: ",") where a != "auto" && ConvAlgorithmKind(userSpelling: String(a)) == nil
        {
            throw ValidationError(
                "Unknown algorithm '\(a)' in --algorithms; use \(ConvAlgorithmKind.userChoices) or auto.")
        }
    }

    func run() throws {
        Console.lineBuffered()
        let profile = try modelOptions.profile()
        let rt = execution.runtime()
        guard let snap = rt.topology else {
            throw CLIError("hwloc could not read the topology; the roofline needs the cache sizes")
        }
        let topo = rt.hwloc
        let cpu = try CPUFeatures.detect()
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        let (pool, threads, options) = (rt.pool, rt.threads, rt.options)

        // Ceilings: from this machine's cached record (or --machine), measured now when absent.
        let machine = try machineOptions.session(cpu: cpu, topology: snap)
        let ceilings = machine.ceilings(cpu: cpu, topology: snap, hwloc: topo)
        let roofline = RooflineBuilder.roofline(ceilings, threads: threads, topology: snap)

        let fixedShape = try inputShape.map(parseInputShape) ?? profile.inputShape
        let batch = try inputBatch(fixedShape: fixedShape)
        let weightFile = try weights.map { w -> (data: Data, file: String) in
            guard let d = FileManager.default.contents(atPath: w) else {
                throw CLIError("\(w): cannot read the weight file")
            }
            return (d, w)
        }
        let profiler = ModelProfiler(
            pool: pool, threads: threads, options: options, session: try eventsOption.session(pool: pool),
            roofline: roofline,
            machine: RunAssembler.machineSummary(
                snap, cpu: cpu, pmus: pmus, ceilings: ceilings, identity: machine.identity),
            selector: machine.selector(options: options))
        let request = ModelProfileRequest(
            profile: profile, batch: batch, fixedShape: fixedShape,
            algorithms: algorithms.split(separator: ",").map(String.init),
            repetitions: repetitions, trainingStep: trainingStep, weights: weightFile, seed: seed,
            datasetLabel: fixedShape == nil ? data.dataset.rawValue : "synthetic (random images)",
            commandLine: CommandLine.arguments.joined(separator: " "), bind: execution.bind.rawValue)
        let (report, overheadNotes) = try profiler.profile(request)
        machine.keep(profiler.selector)
        // `{machine}` in --output is this machine's identity (a sweep task names its folder so).
        let dir = (output ?? "Reports/{machine}/\(profile.name)-\(TrainCommand.timestamp())")
            .replacingOccurrences(of: "{machine}", with: machine.identity.name)
        try ReportWriter.write(report, to: dir)
        print(RunAssembler.summary(report))
        for n in overheadNotes { print(n) }
        print("Report: \(dir)/report.html (also report.json, report.csv, report.md)")
    }
}

extension ProfileCommand {
    /// ImageNet bases (and --input-shape) run on random images of their own shape (time and
    /// counters do not depend on the pixel values); the lab's models on the data set's test images.
    func inputBatch(fixedShape: [Int]?) throws -> Dataset {
        if let shape = fixedShape { return Dataset.synthetic(count: batchSize, shape: shape, seed: seed) }
        let (train, _, test) = try data.load(seed: seed)
        let batch = (test.count >= batchSize ? test : train).prefix(batchSize)
        guard batch.count == batchSize else {
            throw CLIError("the data set has only \(batch.count) images; lower --batch-size")
        }
        return batch
    }
}
