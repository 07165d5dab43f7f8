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

/// What the lab runs: the models, the data, the lab's settings and its extensions.
public struct LabRequest {
    public var profiles: [ModelProfile]
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    public var epochs: Int
    /// EarlyStopping patience on val_accuracy (nil: off).
    public var patience: Int?
    public var augment: Bool
    public var quantize: Bool
    /// How `quantize` picks its int8 layers (by default: where int8 measured faster).
    public var quantization = PostTrainingQuantization.Options()
    public var gradCAM: Bool
    public var seed: UInt64
    public var datasetLabel: String
    public var commandLine: String
    public var bind: String
    /// The report folder (written into a staging folder, then renamed into place).
    public var output: String

    public init(
        profiles: [ModelProfile], train: Dataset, validation: Dataset, test: Dataset, epochs: Int, patience: Int?,
        augment: Bool, quantize: Bool, gradCAM: Bool, seed: UInt64, datasetLabel: String, commandLine: String,
        bind: String, output: String
    ) {
        self.profiles = profiles; self.train = train; self.validation = validation; self.test = test
        self.epochs = epochs; self.patience = patience; self.augment = augment; self.quantize = quantize
        self.gradCAM = gradCAM; self.seed = seed; self.datasetLabel = datasetLabel; self.commandLine = commandLine
        self.bind = bind; self.output = output
    }
}

/// The whole lab as a library call: trains and evaluates every model (auto's algorithms on the
/// pinned pool), profiles each trained model's inference, runs the extensions asked for, and
/// writes lab.html, lab.md, lab.json, lab.csv, pictures/ and profiles/ into the output folder.
public struct LabRunner {
    public let pool: WorkerPool
    public let threads: Int
    public let options: ConvOptions
    public let roofline: Roofline
    public let machine: MachineSummary
    public let selector: AutoSelector
    /// Progress lines (the tool prints them).
    public let log: (String) -> Void

    public init(
        pool: WorkerPool, threads: Int, options: ConvOptions, roofline: Roofline, machine: MachineSummary,
        selector: AutoSelector, log: @escaping (String) -> Void
    ) {
        self.pool = pool; self.threads = threads; self.options = options; self.roofline = roofline
        self.machine = machine; self.selector = selector; self.log = log
    }

    /// A class name, or its index when the data set has fewer names.
    static func className(_ names: [String], _ i: Int) -> String { i >= 0 && i < names.count ? names[i] : "\(i)" }

    @discardableResult
    public func run(_ req: LabRequest) throws -> LabReport {
        let (train, validation, test) = (req.train, req.validation, req.test)
        let staging = try StagingFolder(finalDir: req.output, subfolders: ["pictures", "profiles"])
        var results: [LabModel] = []
        var built: [String: Sequential] = [:]
        var predictionsByModel: [String: [Int32]] = [:]
        var quantization: [LabQuantization] = []
        for var p in req.profiles {
            // The classifier has as many outputs as the data set has classes (the lab's num_classes).
            if !train.classNames.isEmpty { p.classes = train.classNames.count }
            log("== \(p.name): training on \(train.count) images for \(req.epochs) epoch(s)")
            let model = try ModelBuilder.build(
                p, input: train.imageShape, policy: .auto(selector), options: options, seed: req.seed)
            let trainer = Trainer(
                model: model, optimizer: Trainer.optimizer(for: p, isa: options.isa), runner: pool, seed: req.seed)
            let t0 = Date()
            let history = trainer.fit(
                train: train, validation: validation,
                config: TrainConfig(
                    epochs: req.epochs, batchSize: 64, patience: req.patience, seed: req.seed, augment: req.augment),
                epochEnded: { r in
                    log(
                        String(
                            format: "   epoch %d: %.1fs loss %.4f acc %.4f val_acc %.4f", r.epoch, r.seconds, r.loss,
                            r.accuracy, r.valAccuracy ?? .nan))
                })
            let seconds = Date().timeIntervalSince(t0)
            let (preds, loss, acc) = trainer.predict(test, batchSize: 64)
            let inf = trainer.inferenceSecondsPerImage(test, images: 1000, batchSize: 64)
            var confusion = [[Int]](repeating: [Int](repeating: 0, count: p.classes), count: p.classes)
            for (i, y) in test.labels.enumerated() { confusion[Int(y)][Int(preds[i])] += 1 }
            // Hardware view: per-layer inference profile at batch 64 with auto.
            let batch = test.prefix(min(64, test.count))
            let prof = LayerProfiler(session: nil)
            prof.calibrate()
            let ctx = RunContext(runner: pool, training: false, seed: req.seed)
            ctx.reusesActivationMemory = true
            _ = model.forward(batch.images, ctx)
            model.observer = prof
            for _ in 0..<3 { _ = model.forward(batch.images, ctx) }
            model.observer = nil
            let run = RunAssembler.run(
                algorithm: "auto", model: model, records: prof.ordered, session: nil, batch: batch.count,
                workers: pool.width, roofline: roofline, runner: pool)
            let profilePath = "profiles/\(p.name)"
            try ReportWriter.write(
                ProfileReport(
                    createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: req.commandLine,
                    machine: machine, roofline: roofline,
                    model: p.name, dataset: req.datasetLabel, inputShape: batch.imageShape, batchSize: batch.count,
                    threads: threads,
                    bind: req.bind, repetitions: 3, phase: "inference (forward) of the trained model",
                    counterLevel: "not requested (timers only)", counterNotes: [], runs: [run],
                    bestPerLayer: RunAssembler.best([run]),
                    notes: ["Part of the lab run in the folder above."]), to: staging.path(profilePath))
            results.append(
                LabModel(
                    name: p.name, description: p.description, fullyConnected: p.convBlocks.isEmpty, testAccuracy: acc,
                    testLoss: loss,
                    trainingSeconds: seconds, inferenceMsPerImage: inf * 1e3, totalParameters: model.parameterCount,
                    trainableParameters: model.trainableParameterCount,
                    parametersPerSecond: Double(model.parameterCount) / seconds,
                    accuracyPerMillionParameters: LabFormulas.accuracyPerMillionParameters(
                        accuracy: acc, parameters: model.parameterCount),
                    epochsTrained: history.count,
                    history: history.map {
                        LabEpoch(
                            epoch: $0.epoch, loss: $0.loss, accuracy: $0.accuracy, valLoss: $0.valLoss,
                            valAccuracy: $0.valAccuracy)
                    },
                    confusion: confusion,
                    layers: run.layers.map {
                        LabLayer(
                            name: $0.name, type: $0.type, convAlgorithm: $0.convAlgorithm,
                            ms: .of(($0.medianSeconds.value ?? 0) * 1e3, .measured, "ms"),
                            gflops: $0.attainedGFLOPs, efficiency: $0.efficiency)
                    },
                    modelGFLOPs: run.totals.gflops, modelEfficiency: run.totals.efficiency, pictures: [:],
                    profileReport: profilePath + "/report.html"))
            built[p.name] = model
            predictionsByModel[p.name] = preds
            if req.quantize {
                let q = try PostTrainingQuantization.quantize(
                    model, calibration: train, runner: pool, options: req.quantization)
                let qt = Trainer(model: q.model, optimizer: Adam(isa: options.isa), runner: pool, seed: req.seed)
                let (qp, _, qacc) = qt.predict(test, batchSize: 64)
                // Float and int8 timed alternately, five times each, in this run: medians.
                var tf: [Double] = [], tq: [Double] = []
                for _ in 0..<5 {
                    tf.append(trainer.inferenceSecondsPerImage(test, images: 1000, batchSize: 64))
                    tq.append(qt.inferenceSecondsPerImage(test, images: 1000, batchSize: 64))
                }
                let entry = LabQuantization(
                    model: p.name, floatAccuracy: acc, int8Accuracy: qacc,
                    floatMsPerImage: Timing(tf).median * 1e3, int8MsPerImage: Timing(tq).median * 1e3,
                    floatWeightBytes: q.floatWeightBytes, int8WeightBytes: q.int8WeightBytes,
                    disagreements: zip(preds, qp).filter { $0 != $1 }.count, quantizedLayers: q.quantizedLayers,
                    floatLayers: q.floatLayers, roundedLayers: q.roundedLayers)
                quantization.append(entry)
                log(
                    String(
                        format:
                            """
                               int8: test accuracy %.2f%% (float %.2f%%), %.4f ms/image (float %.4f), %d \
                            predictions changed
                            """,
                        qacc * 100, acc * 100, entry.int8MsPerImage, entry.floatMsPerImage, entry.disagreements))
                for c in q.choices {
                    guard let f = c.floatSeconds, let i = c.int8Seconds else { continue }
                    // Each form's error against the float layer's output, and the rounded forms left out.
                    func error(_ kernel: String) -> String {
                        guard let e = c.int8ErrorByKernel?[kernel] else { return "" }
                        let rejected = (c.int8RejectedKernels ?? []).contains(kernel) ? ", error too large" : ""
                        return String(format: " (error %.2f%%%@)", e * 100, rejected)
                    }
                    let others = (c.int8SecondsByKernel ?? [:]).filter { $0.key != c.int8Kernel }.sorted {
                        $0.key < $1.key
                    }
                    .map { String(format: "; %@ %.3f ms%@", $0.key, $0.value * 1e3, error($0.key)) }.joined()
                    let chosen = c.int8Kernel ?? ""
                    log(
                        String(
                            format: "     %@: %@ (int8 %@ %.3f ms%@%@, float %.3f ms on a calibration batch)", c.layer,
                            c.int8 ? "int8" : "stays float", chosen, i * 1e3, error(chosen), others, f * 1e3))
                }
            }
            log(
                String(
                    format: "   test accuracy %.2f%%, %.1f s training, %.4f ms/image inference", acc * 100, seconds,
                    inf * 1e3))
        }

        // Pictures: filters and feature maps for basic-cnn and the most accurate CNN; sample predictions.
        var pictures: [String: [UInt8]] = [:]
        let cnnResults = results.filter { !$0.fullyConnected }
        var pictured = Set<String>()
        if cnnResults.contains(where: { $0.name == "basic-cnn" }) { pictured.insert("basic-cnn") }
        if let best = cnnResults.max(by: { $0.testAccuracy < $1.testAccuracy }) { pictured.insert(best.name) }
        let one = test.prefix(1)
        for i in results.indices where pictured.contains(results[i].name) {
            guard let model = built[results[i].name] else { continue }
            for (k, png) in LabPictures.filtersAndFeatureMaps(model, image: one, runner: pool) {
                let path = "pictures/\(results[i].name)-\(k).png"
                pictures[path] = png
                results[i].pictures[k] = path
            }
        }
        var samples: [(String, String, String)] = []
        if let first = cnnResults.first ?? results.first, let preds = predictionsByModel[first.name] {
            for i in 0..<min(16, test.count) {
                let path = "pictures/sample-\(i).png"
                pictures[path] = LabPictures.sample(test, index: i)
                samples.append(
                    (
                        path, Self.className(test.classNames, Int(test.labels[i])),
                        Self.className(test.classNames, Int(preds[i]))
                    ))
            }
        }
        var gradCAMs: [LabGradCAM] = []
        if req.gradCAM {
            let few = test.prefix(min(8, test.count))
            for m in results where pictured.contains(m.name) {
                guard let model = built[m.name] else { continue }
                let maps = try GradCAM.maps(model, images: few.images, runner: pool)
                for (i, map) in maps.enumerated() {
                    let path = "pictures/\(m.name)-gradcam-\(i).png"
                    pictures[path] = LabPictures.gradCAM(few, index: i, heatmap: map.heatmap)
                    gradCAMs.append(
                        LabGradCAM(
                            model: m.name, layer: map.layer, truth: Self.className(test.classNames, Int(few.labels[i])),
                            predicted: Self.className(test.classNames, map.predictedClass), picture: path))
                }
            }
        }
        var report = LabReport(
            createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: req.commandLine,
            dataset: req.datasetLabel, classNames: test.classNames, epochs: req.epochs, trainImages: train.count,
            testImages: test.count, threads: threads, machine: machine.identity, roofline: roofline, models: results,
            augmentation: req.augment
                ? "random rotations of up to 10 degrees and shifts of up to 2 pixels"
                    + (train.imageShape[2] == 3 ? ", horizontal flips" : "") : nil,
            notes: [
                """
                Sample predictions are those of \((cnnResults.first ?? results.first)?.name ?? "-") (green right, \
                red wrong).
                """,
                """
                Times are measured on this machine; the hardware view is an inference profile at batch 64 with \
                the algorithm auto chose per layer.
                """,
            ]
                + (req.quantize
                    ? [
                        """
                        Int8: the quantised model is inference-only; its speed-up is measured against the same \
                        float model in this run (the int8 GEMM against the float engine's best algorithm per \
                        layer). A layer whose int8 form ran slower than its float form on a calibration batch \
                        stays float (listed under "int8 layers").
                        """
                    ] : []))
        report.quantization = req.quantize ? quantization : nil
        report.gradCAM = req.gradCAM ? gradCAMs : nil
        for (path, png) in pictures { try Data(png).write(to: URL(fileURLWithPath: staging.path(path))) }
        try staging.write(try JSONText.pretty(report), to: "lab.json")
        try staging.write(LabRenderer.csv(report), to: "lab.csv")
        try staging.write(LabRenderer.markdown(report), to: "lab.md")
        try staging.write(
            LabRenderer.html(
                report, pictures: pictures, samples: samples.map { (path: $0.0, truth: $0.1, predicted: $0.2) }),
            to: "lab.html")
        try staging.commit()
        return report
    }
}
