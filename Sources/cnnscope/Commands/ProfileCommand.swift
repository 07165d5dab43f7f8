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

    @Option(help: "Comma-separated algorithm settings to compare: naive, im2col, winograd (F(4x4,3x3)), winograd-f2x3, auto.")
    var algorithms = "naive,im2col,winograd,auto"

    @Option(help: "Timed repetitions per algorithm (after one warm-up).")
    var repetitions = 5

    @Option(help: "Trained weights (.cnnw from cnnscope train) to load instead of the seeded initialisation.")
    var weights: String?

    @Flag(help: "Profile a training step (forward and backward) instead of inference.")
    var trainingStep = false

    @Option(help: "Report folder; the default is Reports/<machine identity>/<model>-<time>.")
    var output: String?

    @OptionGroup var machineOptions: MachineOptions

    @Option(help: "Seed for initialisation and data order.")
    var seed: UInt64 = 42

    @Option(help: "Profile at this input shape (for example 224x224x3) on random images of that shape instead of the data set; the default for ImageNet bases (mobilenetv2, vgg16) is their profile's input_shape.")
    var inputShape: String?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize).") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions).") }
        if let s = inputShape { _ = try parseInputShape(s) }
        for a in algorithms.split(separator: ",") where a != "auto" && ConvAlgorithmKind(userSpelling: String(a)) == nil {
            throw ValidationError("Unknown algorithm '\(a)' in --algorithms; use naive, im2col, winograd, winograd-f2x3 or auto.")
        }
    }

    func run() throws {
        Console.lineBuffered()
        let profile = try modelOptions.profile()
        let rt = execution.runtime()
        guard let snap = rt.topology else { throw CLIError("hwloc could not read the topology; the roofline needs the cache sizes") }
        let topo = rt.hwloc
        let cpu = try CPUFeatures.detect()
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        let (pool, threads, options) = (rt.pool, rt.threads, rt.options)

        // Ceilings: from this machine's cached record (or --machine), measured now when absent.
        let machine = try machineOptions.session(cpu: cpu, topology: snap)
        let ceilings = machine.ceilings(cpu: cpu, topology: snap, hwloc: topo)
        let roofline = RooflineBuilder.roofline(ceilings, threads: threads, topology: snap)

        // ImageNet bases (and --input-shape) run on random images of their own shape: time and
        // counters do not depend on the pixel values.
        let fixedShape = try inputShape.map(parseInputShape) ?? profile.inputShape
        let batch: Dataset
        if let shape = fixedShape {
            batch = Dataset.synthetic(count: batchSize, shape: shape, seed: seed)
        } else {
            let (train, _, test) = try data.load(seed: seed)
            let source = test.count >= batchSize ? test : train
            batch = source.prefix(batchSize)
            guard batch.count == batchSize else { throw CLIError("the data set has only \(batch.count) images; lower --batch-size") }
        }
        let input = batch.images
        let session = try eventsOption.session(pool: pool)
        let selector = machine.selector(options: options)

        var runs: [AlgorithmRun] = []
        var overheadNotes: [String] = []
        for a in algorithms.split(separator: ",").map(String.init) {
            let policy: ConvAlgorithmPolicy = a == "auto" ? .auto(selector) : .fixed(ConvAlgorithmKind(userSpelling: a)!)
            // A base (mobilenetv2, vgg16) is profiled without its classifier head, as Keras's
            // include_top=False model, unless a training step needs the loss.
            let model = try ModelBuilder.build(profile, input: batch.imageShape, policy: policy, options: options, seed: seed,
                                               includeHead: trainingStep || profile.head.isEmpty, resizeTo: fixedShape)
            // Batch norm folds into the convolution before it for inference only.
            model.foldBatchNormForInference(!trainingStep)
            if let w = weights {
                guard let d = FileManager.default.contents(atPath: w) else { throw CLIError("\(w): cannot read the weight file") }
                try WeightFile.load(d, into: model, file: w)
            }
            let ctx = RunContext(runner: pool, training: trainingStep, seed: seed)
            let prof = LayerProfiler(session: session)
            prof.calibrate()
            let grad = try Tensor([batchSize, model.outputShape[0]])
            func step() {
                let logits = model.forward(input, ctx)
                if trainingStep {
                    _ = batch.labels.withUnsafeBufferPointer { SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad) }
                    model.backward(grad, ctx)
                }
            }
            step()   // warm-up (and auto's timing)
            model.observer = prof
            for rep in 0..<repetitions {
                if let s = session, s.parts.count > 1 { try s.select(part: rep % s.parts.count) }
                step()
            }
            model.observer = nil
            let records = prof.ordered
            // Hook cost: whole-model time with the profiler attached against none, in interleaved
            // pairs (the machine drifts by more than the hooks cost): the median of the pairs' ratios.
            var plain: [Double] = [], hooked: [Double] = []
            func timed(_ hooks: Bool) -> Double {
                model.observer = hooks ? prof : nil
                let t0 = monotonicNanos()
                step()
                return Double(monotonicNanos() - t0) * 1e-9
            }
            // ABBA order, so that neither side always runs second.
            for k in 0..<max(16, repetitions) {
                if k % 2 == 0 {
                    plain.append(timed(false)); hooked.append(timed(true))
                } else {
                    hooked.append(timed(true)); plain.append(timed(false))
                }
            }
            model.observer = nil
            prof.reset()
            let tp = Timing(plain).median, th = Timing(hooked).median
            let pairRatio = Timing(zip(hooked, plain).map { $0 / $1 }).median
            let perCall = prof.overheadSeconds * Double(model.layers.count) * (trainingStep ? 2 : 1)
            overheadNotes.append(String(format: "Hook overhead, %@: %.1f µs calibrated per layer call (%.2f%% of the model's %.3f ms); whole model with hooks %.3f ms vs without %.3f ms (medians); median of %d interleaved pairs' ratios %+.2f%% (measured).",
                                        a, prof.overheadSeconds * 1e6, perCall / tp * 100, tp * 1e3, th * 1e3, tp * 1e3, plain.count, (pairRatio - 1) * 100))
            runs.append(RunAssembler.run(algorithm: a, model: model, records: records, session: session, batch: batchSize,
                                         workers: pool.width, roofline: roofline, runner: pool))
        }
        machine.keep(selector)

        let report = ProfileReport(
            createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: CommandLine.arguments.joined(separator: " "),
            machine: RunAssembler.machineSummary(snap, cpu: cpu, pmus: pmus, ceilings: ceilings, identity: machine.identity),
            roofline: roofline, model: profile.name, dataset: fixedShape == nil ? data.dataset.rawValue : "synthetic (random images)", inputShape: batch.imageShape,
            batchSize: batchSize, threads: threads, bind: execution.bind.rawValue, repetitions: repetitions,
            phase: trainingStep ? "training step (forward + backward)" : "inference (forward)",
            counterLevel: session.map { $0.level.rawValue + ($0.active.name != $0.requested.name ? " — \($0.active.name) instead of \($0.requested.name)" : "") } ?? "not requested (timers only; use --events SET)",
            counterNotes: session.map { s in s.unavailable.map { "\($0.variable) (\($0.event)): \($0.reason)" } } ?? [],
            runs: runs, bestPerLayer: RunAssembler.best(runs),
            notes: ["Roofline memory ceiling: \(roofline.memory.map { "\($0.level) \(String(format: "%.1f", $0.gbPerSecond)) GB/s" } ?? "none"); compute ceiling: \(roofline.computeName) for \(threads) thread(s).",
                    "Machine: \(machine.identity.name)\(machine.isExplicit ? " (ceilings from --machine \(machineOptions.machine ?? ""))" : ""); its own measured ceilings.",
                    "Each layer is judged against the memory level whose traffic bounds it (level and bounding-ceiling columns); the classic chart judges every point against DRAM alone.",
                    "Backward FLOPs are modelled as the GEMMs of im2col (dW and, except for the first layer, dX) and 2x the forward of dense layers."] + overheadNotes)
        let dir = output ?? "Reports/\(machine.identity.name)/\(profile.name)-\(TrainCommand.timestamp())"
        try ReportWriter.write(report, to: dir)
        print(RunAssembler.summary(report))
        for n in overheadNotes { print(n) }
        print("Report: \(dir)/report.html (also report.json, report.csv, report.md)")
    }
}
