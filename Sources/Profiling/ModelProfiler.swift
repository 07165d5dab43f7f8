import Datasets
import Figures
import Foundation
import Hardware
import Kernels
import Layers
import Profiler
import Reports
import Roofline
import Runtime
import Tensor
import Training

/// What to profile: a model profile on one batch, under each algorithm setting.
public struct ModelProfileRequest {
    public var profile: ModelProfile
    /// The batch (images and labels) every algorithm runs on.
    public var batch: Dataset
    /// The shape images are resized to first (ImageNet bases), or nil.
    public var fixedShape: [Int]?
    /// Algorithm settings in order: naive, im2col, winograd, winograd-f2x3, winograd-f2x5, winograd-f4x5,
    /// winograd-f3x2, auto.
    public var algorithms: [String]
    public var repetitions: Int
    /// Forward and backward (a training step) instead of inference.
    public var trainingStep: Bool
    /// A `.cnnw` weight file's bytes and its name (for errors), or nil for the seeded initialisation.
    public var weights: (data: Data, file: String)?
    public var seed: UInt64
    /// How the run is described in the report.
    public var datasetLabel: String
    public var commandLine: String
    public var bind: String
    /// Read the counters around every layer call instead of spreading the reads over the passes
    /// (`CounterReadPlan.covering`): more counted calls per layer, more hook overhead.
    public var countersEveryCall = false

    public init(
        profile: ModelProfile, batch: Dataset, fixedShape: [Int]?, algorithms: [String], repetitions: Int,
        trainingStep: Bool, weights: (data: Data, file: String)?, seed: UInt64, datasetLabel: String,
        commandLine: String, bind: String
    ) {
        self.profile = profile; self.batch = batch; self.fixedShape = fixedShape; self.algorithms = algorithms
        self.repetitions = repetitions; self.trainingStep = trainingStep; self.weights = weights; self.seed = seed
        self.datasetLabel = datasetLabel; self.commandLine = commandLine; self.bind = bind
    }
}

/// Profiles a model per layer and per algorithm on the pinned pool: warm-up (and auto's timing),
/// timed passes with the profiler's hooks (every call timed, the counter reads spread over the
/// passes by a `CounterReadPlan`, the parts of a set that needs more than one taken in turn), the
/// hook overhead measured as whole-model pairs, then one run per algorithm with costs by formula
/// and the hierarchical roofline judgement.
public struct ModelProfiler {
    public let pool: WorkerPool
    public let threads: Int
    public let options: ConvOptions
    public let session: CounterSession?
    public let roofline: Roofline
    public let machine: MachineSummary
    public let selector: AutoSelector

    public init(
        pool: WorkerPool, threads: Int, options: ConvOptions, session: CounterSession?, roofline: Roofline,
        machine: MachineSummary, selector: AutoSelector
    ) {
        self.pool = pool; self.threads = threads; self.options = options; self.session = session
        self.roofline = roofline; self.machine = machine; self.selector = selector
    }

    /// The run file of one profile, and one note per algorithm on the hooks' overhead.
    public func profile(_ req: ModelProfileRequest) throws -> (report: ProfileReport, overheadNotes: [String]) {
        var runs: [AlgorithmRun] = []
        var overheadNotes: [String] = []
        for a in req.algorithms {
            let (run, note) = try profile(algorithm: a, req)
            runs.append(run)
            overheadNotes.append(note)
        }
        let s = session
        var report = ProfileReport(
            createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: req.commandLine, machine: machine,
            roofline: roofline, model: req.profile.name, dataset: req.datasetLabel, inputShape: req.batch.imageShape,
            batchSize: req.batch.count, threads: threads, bind: req.bind, repetitions: req.repetitions,
            phase: req.trainingStep ? "training step (forward + backward)" : "inference (forward)",
            counterLevel: s.map {
                $0.level.rawValue
                    + ($0.active.name != $0.requested.name
                        ? " — \($0.active.name) instead of \($0.requested.name)" : "")
            }
                ?? "not requested (timers only; use --events SET)",
            counterNotes: s.map { s in s.unavailable.map { "\($0.variable) (\($0.event)): \($0.reason)" } } ?? [],
            runs: runs, bestPerLayer: RunAssembler.best(runs),
            notes: [
                "Machine: \(machine.displayName); ceilings measured on it.",
                """
                Each layer is judged against the memory level whose traffic bounds it (level and bounding-ceiling \
                columns); the classic chart judges every point against DRAM alone.
                """,
                """
                Backward FLOPs, direct-equivalent: the GEMMs of im2col (dW and, except for the first layer, dX) and \
                2x the forward of dense layers; executed: those of the algorithms that ran (Winograd's transforms \
                and α² GEMMs for dW and dX where the forward runs Winograd).
                """,
            ] + overheadNotes)
        report.kernelISA = options.isa
        return (report, overheadNotes)
    }

    func profile(algorithm a: String, _ req: ModelProfileRequest) throws -> (AlgorithmRun, String) {
        guard
            let policy: ConvAlgorithmPolicy = a == "auto"
                ? .auto(selector) : ConvAlgorithmKind(userSpelling: a).map({ .fixed($0) })
        else {
            throw ConvError.unsupported(
                algorithm: a,
                reason: "unknown algorithm; use \(ConvAlgorithmKind.userChoices) or auto")
        }
        let batch = req.batch, batchSize = batch.count, training = req.trainingStep
        // A base (mobilenetv2, vgg16) is profiled without its classifier head, as Keras's
        // include_top=False model, unless a training step needs the loss.
        let model = try ModelBuilder.build(
            req.profile, input: batch.imageShape, policy: policy, options: options, seed: req.seed,
            includeHead: training || req.profile.head.isEmpty, resizeTo: req.fixedShape)
        // Batch norm folds into the convolution before it for inference only.
        model.foldBatchNormForInference(!training)
        if let w = req.weights { try WeightFile.load(w.data, into: model, file: w.file) }
        let ctx = RunContext(runner: pool, training: training, seed: req.seed)
        ctx.reusesActivationMemory = !training
        let prof = LayerProfiler(session: session)
        prof.calibrate()
        let grad = try Tensor([batchSize, model.outputShape[0]])
        let input = batch.images
        func step() {
            let logits = model.forward(input, ctx)
            if training {
                _ = batch.labels.withUnsafeBufferPointer {
                    SoftmaxCrossEntropy.evaluate(logits: logits, labels: $0.baseAddress!, grad: grad)
                }
                model.backward(grad, ctx)
            }
        }
        step()  // warm-up (and auto's timing)
        // Counter reads spread over the passes (`CounterReadPlan`): enough passes that every layer
        // is read under every part of the set, and on a fast model only every k-th pass reads, so
        // that the reads cost about a tenth of a per cent of its time (at a quarter, basic-cnn's
        // hooks still measured 0.3% above timers alone). A read right after a layer costs about
        // four times the calibrated one (6-8 µs against 1.6-2.2 on a Zen 5 VM).
        let parts = max(1, session?.parts.count ?? 1)
        if !req.countersEveryCall, session != nil {
            let t0 = monotonicNanos()
            step()
            let passSeconds = Double(monotonicNanos() - t0) * 1e-9
            let layers = model.layers.count
            prof.readPlan = .forProfile(
                layers: layers, parts: parts, passes: max(req.repetitions, min(layers * parts, 4 * req.repetitions)),
                phases: training ? 2 : 1, passSeconds: passSeconds, readSeconds: 4 * prof.overheadSeconds)
        }
        let plan = prof.readPlan
        model.observer = prof
        prof.pass = -1
        let round = plan.passesPerRound, planned = max(req.repetitions, round * parts)
        // Up to two more rounds while a layer has no counted call (quiet before, longer in its turn).
        var rep = 0
        while rep < planned || (rep < planned + 2 * round * parts && session != nil && !prof.everyLayerCounted) {
            // Each window of the plan meets each part: the part changes after a whole round.
            if let s = session, s.parts.count > 1 { try s.select(part: (rep / round) % s.parts.count) }
            step()
            rep += 1
        }
        model.observer = nil
        let records = prof.ordered
        let (note, unhooked) = Self.hookOverhead(
            algorithm: a, profiler: prof, model: model, repetitions: req.repetitions,
            trainingStep: training, step: step)
        prof.reset()
        var run = RunAssembler.run(
            algorithm: a, model: model, records: records, session: session, batch: batchSize,
            workers: pool.width, roofline: roofline, runner: pool, isa: options.isa)
        run.totals.unhookedSeconds = .of(unhooked.median, .measured, "s")
        run.totals.unhookedImagesPerSecond = .of(Double(batchSize) / unhooked.median, .measured, "images/s")
        // The weight-gradient choice each Winograd layer timed on its first backward.
        let choices = model.layers.compactMap { l -> String? in
            guard let c = l as? Conv2DLayer, let w = c.weightGradientChoice[batchSize] else { return nil }
            return c.name + " " + w.text
        }
        if choices.isEmpty { return (run, note) }
        return (
            run,
            note + " Weight gradient per Winograd layer (medians of alternated timings, kept with auto's choices): "
                + choices.joined(separator: "; ") + "."
        )
    }

    /// Seconds of model time the hook-overhead pairs take at least (beyond their minimum count): a
    /// pair's ratio moves by a few per cent with the machine, so a median within ±1% needs ~100 pairs.
    static let hookPairsSeconds = 1.5

    /// Hook cost: whole-model time with the profiler attached against none, in interleaved pairs
    /// (ABBA, so neither side always runs second; the machine drifts by more than the hooks cost):
    /// the median of the pairs' ratios, beside the calibrated per-call cost; and the runs without
    /// hooks (the whole model as its user sees it: no thread reads a counter, since the workers
    /// read theirs only when the profiler asks, at a layer's end). At least max(16, repetitions) pairs, more while
    /// they fit in `hookPairsSeconds`, at most 400.
    static func hookOverhead(
        algorithm a: String, profiler prof: LayerProfiler, model: Sequential, repetitions: Int,
        trainingStep: Bool, step: () -> Void
    ) -> (note: String, unhooked: Timing) {
        var plain: [Double] = [], hooked: [Double] = []
        func timed(_ hooks: Bool) -> Double {
            model.observer = hooks ? prof : nil
            let t0 = monotonicNanos()
            step()
            return Double(monotonicNanos() - t0) * 1e-9
        }
        let probe = timed(false)
        let readsBefore = prof.counterReads
        let pairs = min(400, max(max(16, repetitions), Int(hookPairsSeconds / max(2 * probe, 1e-6))))
        for k in 0..<pairs {
            if k % 2 == 0 {
                plain.append(timed(false)); hooked.append(timed(true))
            } else {
                hooked.append(timed(true)); plain.append(timed(false))
            }
        }
        model.observer = nil
        let unhooked = Timing(plain)
        let tp = unhooked.median, th = Timing(hooked).median
        let pairRatio = Timing(zip(hooked, plain).map { $0 / $1 }).median
        let readsPerPass = Double(prof.counterReads - readsBefore) / Double(max(1, hooked.count))
        let calls = Double(model.layers.count) * (trainingStep ? 2 : 1)
        let estimate = readsPerPass * prof.overheadSeconds + (calls - readsPerPass) * prof.timerOverheadSeconds
        let calibrated =
            prof.session == nil
            ? String(format: "%.2f µs calibrated per layer call (timers only)", prof.timerOverheadSeconds * 1e6)
            : String(
                format: "%.1f µs calibrated per layer call with a counter read, %.2f µs without; %.1f reads per pass",
                prof.overheadSeconds * 1e6, prof.timerOverheadSeconds * 1e6, readsPerPass) + " (\(prof.readPlan.text))"
        let note = String(
            format:
                """
                Hook overhead, %@: %@: %.2f%% of the model's %.3f ms; whole model with hooks %.3f ms vs without \
                %.3f ms (medians); median of %d interleaved pairs' ratios %+.2f%% (measured).
                """,
            a, calibrated, estimate / tp * 100, tp * 1e3, th * 1e3, tp * 1e3, plain.count, (pairRatio - 1) * 100)
        return (note, unhooked)
    }
}
