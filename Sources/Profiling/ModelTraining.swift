import Datasets
import Foundation
import Hardware
import Kernels
import Layers
import Profiler
import Reports
import Runtime
import Training

/// What to train: a model profile on a split data set, as the lab's `train_and_evaluate_model`.
public struct TrainingRequest {
    public var profile: ModelProfile
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    public var config: TrainConfig
    /// Overrides the profile's learning rate.
    public var learningRate: Double?
    public var policy: ConvAlgorithmPolicy
    public var datasetLabel: String
    public var commandLine: String

    public init(
        profile: ModelProfile, train: Dataset, validation: Dataset, test: Dataset, config: TrainConfig,
        learningRate: Double?, policy: ConvAlgorithmPolicy, datasetLabel: String, commandLine: String
    ) {
        self.profile = profile; self.train = train; self.validation = validation; self.test = test; self.config = config
        self.learningRate = learningRate; self.policy = policy; self.datasetLabel = datasetLabel;
        self.commandLine = commandLine
    }
}

/// Trains, evaluates and times one model on the pinned pool; with a counter session, every layer
/// call of the training steps is profiled too.
public struct ModelTraining {
    public let pool: WorkerPool
    public let threads: Int
    public let options: ConvOptions
    /// nil: no per-layer profile. Otherwise the profiler's session (may itself count nothing).
    public let profiledSession: CounterSession??
    /// The machine identity, recorded in the results.
    public let machine: String
    /// The FMA peak for `threads` threads, measured earlier on this machine (nil: unknown); the
    /// training step's rate is reported against it.
    public let fmaPeakGFLOPs: Double?
    /// Measures the FMA peak of the pool's threads now (GFLOP/s); when given, it runs before the first
    /// epoch and after each one, outside the epochs' timed steps, and the training step is also reported
    /// against those peaks (`TrainingStepRate.fractionOfBesidePeak`).
    public let besidePeakProbe: ((WorkerPool) -> Double)?

    public init(
        pool: WorkerPool, threads: Int, options: ConvOptions, profiledSession: CounterSession??, machine: String,
        fmaPeakGFLOPs: Double? = nil, besidePeakProbe: ((WorkerPool) -> Double)? = nil
    ) {
        self.pool = pool; self.threads = threads; self.options = options; self.profiledSession = profiledSession
        self.machine = machine; self.fmaPeakGFLOPs = fmaPeakGFLOPs; self.besidePeakProbe = besidePeakProbe
    }

    /// The results, the trained model and the layer profiler (when asked for).
    public func run(
        _ req: TrainingRequest, progress: ((StepProgress) -> Void)? = nil,
        epochEnded: ((EpochRecord) -> Void)? = nil
    ) throws -> (
        results: TrainingResults, model: Sequential,
        profiler: LayerProfiler?
    ) {
        let seed = req.config.seed
        let input = req.train.imageShape
        // The classifier has as many outputs as the data set has classes (the lab's num_classes).
        var profile = req.profile
        if !req.train.classNames.isEmpty {
            profile.classes = req.train.classNames.count
            profile = profile.withClassifierSized(classes: profile.classes)
        }
        let model = try ModelBuilder.build(profile, input: input, policy: req.policy, options: options, seed: seed)
        let trainer = Trainer(
            model: model,
            optimizer: Trainer.optimizer(for: req.profile, learningRate: req.learningRate, isa: options.isa),
            runner: pool, seed: seed)
        let session = profiledSession ?? nil
        let profiler = profiledSession == nil ? nil : LayerProfiler(session: session)
        profiler?.calibrate()
        model.observer = profiler
        // The peak before the first epoch, then after each one; the latter run inside the training
        // time below and are taken out of it.
        var besidePeaks = besidePeakProbe.map { [$0(pool)] } ?? []
        var probeSeconds = 0.0
        func probePeak() {
            guard let probe = besidePeakProbe else { return }
            let p0 = Date()
            besidePeaks.append(probe(pool))
            probeSeconds += Date().timeIntervalSince(p0)
        }
        let t0 = Date()
        let history = trainer.fit(
            train: req.train, validation: req.validation, config: req.config,
            progress: { p in
                progress?(p)
                // More events than counters: rotate the parts step by step.
                if let s = session, s.parts.count > 1 { try? s.select(part: p.step % s.parts.count) }
            },
            epochEnded: { record in
                probePeak()
                epochEnded?(record)
            })
        // The probes after each epoch are not training time.
        let trainingSeconds = Date().timeIntervalSince(t0) - probeSeconds
        model.observer = nil
        let batchSize = req.config.batchSize
        let (_, testLoss, testAcc) = trainer.predict(req.test, batchSize: batchSize)
        let inf = trainer.inferenceSecondsPerImage(req.test, images: 1000, batchSize: batchSize)
        let inf1 = trainer.inferenceSecondsPerImage(req.test, images: 200, batchSize: 1)
        var algos: [String: String] = [:]
        for l in model.layers { if let c = l as? Conv2DLayer, let a = c.lastAlgorithm { algos[c.name] = a.rawValue } }
        var results = TrainingResults(
            machine: machine, model: req.profile.name, dataset: req.datasetLabel, inputShape: input,
            testAccuracy: testAcc,
            testLoss: testLoss, trainingSeconds: trainingSeconds, inferenceMsPerImage: inf * 1e3,
            inferenceBatchSize: batchSize,
            inferenceMsPerImageBatch1: inf1 * 1e3, totalParameters: model.parameterCount,
            trainableParameters: model.trainableParameterCount,
            nonTrainableParameters: model.nonTrainableParameterCount,
            parametersPerSecond: Double(model.parameterCount) / trainingSeconds,
            accuracyPerMillionParameters: LabFormulas.accuracyPerMillionParameters(
                accuracy: testAcc, parameters: model.parameterCount),
            epochsTrained: history.count, stoppedEarly: trainer.stoppedEarly, bestEpoch: trainer.bestEpoch,
            batchSize: batchSize, trainImages: req.train.count, validationImages: req.validation.count,
            testImages: req.test.count, seed: seed, threads: threads, convAlgorithms: algos, history: history,
            layerProfile: profiler.map { LayerProfileTable.rows($0) }, peakResidentMB: ResourceUsage.peakResidentMB(),
            commandLine: req.commandLine)
        results.trainingStep = TrainingStepRate.measured(
            model: model, history: history, fmaPeakGFLOPs: fmaPeakGFLOPs,
            besidePeaks: besidePeakProbe == nil ? nil : besidePeaks)
        return (results, model, profiler)
    }
}
