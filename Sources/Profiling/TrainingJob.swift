import Datasets
import Figures
import Foundation
import Hardware
import Layers
import Training

/// `cnnscope train`: trains a model as the lab's `train_and_evaluate_model` does, then saves
/// results.json and the trained weights.
public struct TrainingJob {
    public var model: String
    public var data = DataSelection()
    /// naive, im2col, a Winograd variant, or auto.
    public var convAlgorithm = "auto"
    public var epochs = LabDefaults.epochs
    public var batchSize = LabDefaults.batchSize
    /// EarlyStopping patience; 0 turns it off.
    public var patience = LabDefaults.patience
    public var augment = false
    /// Train only the trailing Dense layers (fine-tuning an imported model).
    public var classifierOnly = false
    public var learningRate: Double?
    public var seed: UInt64 = 42
    /// Count this event set per layer over the training steps.
    public var eventSet: String?
    /// The folder for results.json and weights.cnnw; nil is <reports>/<identity>/train-<model>-<time>
    /// (`RunEnvironment.reportsRoot`).
    public var output: String?

    public init(model: String) { self.model = model }

    public func validate() throws {
        if epochs < 1 { throw WorkflowError("--epochs must be at least 1, got \(epochs).") }
        if batchSize < 1 || batchSize > 65536 {
            throw WorkflowError("--batch-size must be between 1 and 65536, got \(batchSize).")
        }
        if patience < 0 { throw WorkflowError("--patience must be 0 (off) or more, got \(patience).") }
        if let lr = learningRate, !(lr > 0 && lr < 10) {
            throw WorkflowError("--learning-rate must be in (0, 10), got \(lr).")
        }
    }

    /// Trains, prints progress through `progress`, saves both files and returns the results.
    public func run(in env: RunEnvironment, progress: TrainingProgress) throws -> TrainingResults {
        let loaded = try env.model(model)
        let profile = classifierOnly ? try loaded.freezingAllButClassifier() : loaded
        let (train, validation, test) = try data.load(seed: seed, environment: env.environment)
        let policy = try ConvAlgorithmPolicy.named(convAlgorithm, selector: env.selector)
        let training = ModelTraining(
            pool: env.pool, threads: env.threads, options: env.options,
            profiledSession: eventSet == nil ? nil : .some(try env.counterSession(eventSet)),
            machine: env.identityName,
            // The FMA ceiling of the widest ISA that runs under `--isa` (the cap, or OpenBLAS' own), measured
            // earlier and around each epoch.
            fmaPeakGFLOPs: TrainingStepRate.peak(
                env.machine.record.ceilings?.fma(isa: env.options.roofISA), threads: env.threads),
            // Only where the pool's workers are the threads that train (not `--threading blas`).
            besidePeakProbe: env.pool.width != env.threads
                ? nil
                : env.cpu.map { cpu in
                    { ComputePeakProbe.measure(features: cpu, pool: $0, isa: env.options.roofISA).allThreadsGFLOPs }
                })
        env.log(
            """
            Training \(profile.name) on \(data.dataset.rawValue): \(train.count) train, \(validation.count) \
            validation, \(test.count) test images, input \(train.imageShape), batch \(batchSize), \(env.threads) \
            thread\(env.threads == 1 ? "" : "s"), conv \(convAlgorithm)
            """)
        let (results, trained, profiler) = try training.run(
            TrainingRequest(
                profile: profile, train: train, validation: validation, test: test,
                config: TrainConfig(
                    epochs: epochs, batchSize: batchSize, patience: patience > 0 ? patience : nil, seed: seed,
                    augment: augment),
                learningRate: learningRate, policy: policy, datasetLabel: data.dataset.rawValue,
                commandLine: env.commandLine),
            progress: progress.step, epochEnded: { progress.epochEnded($0, epochs: epochs) })
        env.finish()
        env.log(TrainingResults.text(results))
        if let profiler, let rows = results.layerProfile {
            env.log("\nPer layer over the training steps:")
            env.log(
                LayerProfileTable.render(rows, session: profiler.session, overheadSeconds: profiler.overheadSeconds))
        }
        let dir = env.outputFolder(output, name: "train-\(profile.name)")
        try AtomicFile.write(try JSONText.pretty(results) + "\n", to: dir + "/results.json")
        try AtomicFile.write(try WeightFile.encode(trained), to: dir + "/weights.cnnw")
        env.log("Saved \(dir)/results.json and \(dir)/weights.cnnw")
        return results
    }
}
