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

    @Option(help: "Epochs per model.")
    var epochs = 1

    @Option(help: "EarlyStopping patience on val_accuracy (off when not given).")
    var patience: Int?

    @Option(help: "Comma-separated model profiles; the default is the eight CNNs and fcnn.")
    var models: String?

    @Flag(help: "A quick run: 3,000 training images, one epoch, three models (basic-cnn, tiny-cnn, fcnn).")
    var quick = false

    @Flag(help: "Extension: augment the training batches (random shifts of up to 2 pixels; horizontal flips for CIFAR-10).")
    var augment = false

    @Flag(help: "Extension: also train basic-cnn with average pooling and compare it with max pooling.")
    var poolingStudy = false

    @Flag(help: "Extension: quantise every trained model to int8 after training (convolution and dense layers) and compare accuracy and speed with float.")
    var quantize = false

    @Flag(help: "Extension: Grad-CAM heatmaps over sample test images for basic-cnn and the most accurate CNN.")
    var gradCam = false

    @Option(help: "Report folder; the default is Reports/<machine identity>/lab-<time>.")
    var output: String?

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 42

    @OptionGroup var machineOptions: MachineOptions

    static let allModels = ["basic-cnn", "shallow-cnn", "deep-cnn", "wide-cnn", "tiny-cnn", "small-filters", "large-filters", "mixed-filters", "fcnn"]

    func validate() throws {
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs).") }
        if let p = patience, p < 1 { throw ValidationError("--patience must be at least 1, got \(p).") }
    }

    func run() throws {
        Console.lineBuffered()
        let names = models.map { $0.split(separator: ",").map(String.init) } ?? (quick ? ["basic-cnn", "tiny-cnn", "fcnn"] : Self.allModels)
        guard let modelsDir = ProfilesDirectory.locate()?.appendingPathComponent("models") else {
            throw CLIError("cannot find the Profiles/models folder; run from the repository or set CNNSCOPE_PROFILES")
        }
        var profiles = try names.map { try ModelProfile.load(named: $0, in: modelsDir) }
        if poolingStudy {
            var avg = try ModelProfile.load(named: "basic-cnn", in: modelsDir)
            avg.name = "basic-cnn-avgpool"
            avg.description = "basic-cnn with average instead of max pooling (pooling study)"
            for i in avg.convBlocks.indices { avg.convBlocks[i].poolType = .avg }
            if !profiles.contains(where: { $0.name == "basic-cnn" }) { profiles.insert(try ModelProfile.load(named: "basic-cnn", in: modelsDir), at: 0) }
            profiles.append(avg)
        }
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
        let staging = try StagingFolder(finalDir: dir, subfolders: ["pictures", "profiles"])

        var results: [LabModel] = []
        var built: [String: Sequential] = [:]
        var predictionsByModel: [String: [Int32]] = [:]
        var quantization: [LabQuantization] = []
        for p in profiles {
            print("== \(p.name): training on \(train.count) images for \(epochs) epoch(s)")
            let model = try ModelBuilder.build(p, input: train.imageShape, policy: .auto(selector), options: options, seed: seed)
            let trainer = Trainer(model: model, optimizer: Trainer.optimizer(for: p), runner: pool, seed: seed)
            let t0 = Date()
            let history = trainer.fit(train: train, validation: validation,
                                      config: TrainConfig(epochs: epochs, batchSize: 64, patience: patience, seed: seed, augment: augment),
                                      epochEnded: { r in print(String(format: "   epoch %d: %.1fs loss %.4f acc %.4f val_acc %.4f", r.epoch, r.seconds, r.loss, r.accuracy, r.valAccuracy ?? .nan)) })
            let seconds = Date().timeIntervalSince(t0)
            let (preds, loss, acc) = trainer.predict(test, batchSize: 64)
            let inf = trainer.inferenceSecondsPerImage(test, images: 1000, batchSize: 64)
            var confusion = [[Int]](repeating: [Int](repeating: 0, count: p.classes), count: p.classes)
            for (i, y) in test.labels.enumerated() { confusion[Int(y)][Int(preds[i])] += 1 }
            // Hardware view: per-layer inference profile at batch 64 with auto.
            let batch = test.prefix(min(64, test.count))
            let prof = LayerProfiler(session: nil)
            prof.calibrate()
            let ctx = RunContext(runner: pool, training: false, seed: seed)
            _ = model.forward(batch.images, ctx)
            model.observer = prof
            for _ in 0..<3 { _ = model.forward(batch.images, ctx) }
            model.observer = nil
            let run = RunAssembler.run(algorithm: "auto", model: model, records: prof.ordered, session: nil, batch: batch.count,
                                       workers: pool.width, roofline: roofline, runner: pool)
            let profilePath = "profiles/\(p.name)"
            try ReportWriter.write(ProfileReport(
                createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: CommandLine.arguments.joined(separator: " "),
                machine: RunAssembler.machineSummary(snap, cpu: cpu, pmus: pmus, ceilings: ceilings, identity: machine.identity), roofline: roofline,
                model: p.name, dataset: data.dataset.rawValue, inputShape: batch.imageShape, batchSize: batch.count, threads: threads,
                bind: execution.bind.rawValue, repetitions: 3, phase: "inference (forward) of the trained model",
                counterLevel: "not requested (timers only)", counterNotes: [], runs: [run], bestPerLayer: RunAssembler.best([run]),
                notes: ["Part of the lab run in the folder above."]), to: staging.path(profilePath))
            results.append(LabModel(
                name: p.name, description: p.description, fullyConnected: p.convBlocks.isEmpty, testAccuracy: acc, testLoss: loss,
                trainingSeconds: seconds, inferenceMsPerImage: inf * 1e3, totalParameters: model.parameterCount,
                trainableParameters: model.trainableParameterCount, parametersPerSecond: Double(model.parameterCount) / seconds,
                accuracyPerMillionParameters: acc / (Double(model.parameterCount) / 1e6), epochsTrained: history.count,
                history: history.map { LabEpoch(epoch: $0.epoch, loss: $0.loss, accuracy: $0.accuracy, valLoss: $0.valLoss, valAccuracy: $0.valAccuracy) },
                confusion: confusion,
                layers: run.layers.map { LabLayer(name: $0.name, type: $0.type, convAlgorithm: $0.convAlgorithm, ms: .of(($0.medianSeconds.value ?? 0) * 1e3, .measured, "ms"),
                                                  gflops: $0.attainedGFLOPs, efficiency: $0.efficiency) },
                modelGFLOPs: run.totals.gflops, modelEfficiency: run.totals.efficiency, pictures: [:], profileReport: profilePath + "/report.html"))
            built[p.name] = model
            predictionsByModel[p.name] = preds
            if quantize {
                let q = try PostTrainingQuantization.quantize(model, calibration: train, runner: pool)
                let qt = Trainer(model: q.model, optimizer: Adam(), runner: pool, seed: seed)
                let (qp, _, qacc) = qt.predict(test, batchSize: 64)
                // Float and int8 timed alternately, three times each, in this run: medians.
                var tf: [Double] = [], tq: [Double] = []
                for _ in 0..<3 {
                    tf.append(trainer.inferenceSecondsPerImage(test, images: 1000, batchSize: 64))
                    tq.append(qt.inferenceSecondsPerImage(test, images: 1000, batchSize: 64))
                }
                let entry = LabQuantization(model: p.name, floatAccuracy: acc, int8Accuracy: qacc,
                                            floatMsPerImage: Timing(tf).median * 1e3, int8MsPerImage: Timing(tq).median * 1e3,
                                            floatWeightBytes: q.floatWeightBytes, int8WeightBytes: q.int8WeightBytes,
                                            disagreements: zip(preds, qp).filter { $0 != $1 }.count, quantizedLayers: q.quantizedLayers)
                quantization.append(entry)
                print(String(format: "   int8: test accuracy %.2f%% (float %.2f%%), %.4f ms/image (float %.4f), %d predictions changed",
                             qacc * 100, acc * 100, entry.int8MsPerImage, entry.floatMsPerImage, entry.disagreements))
            }
            print(String(format: "   test accuracy %.2f%%, %.1f s training, %.4f ms/image inference", acc * 100, seconds, inf * 1e3))
        }
        machine.keep(selector)

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
                samples.append((path, name(test.classNames, Int(test.labels[i])), name(test.classNames, Int(preds[i]))))
            }
        }
        var gradCAMs: [LabGradCAM] = []
        if gradCam {
            let few = test.prefix(min(8, test.count))
            for m in results where pictured.contains(m.name) {
                guard let model = built[m.name] else { continue }
                let maps = try GradCAM.maps(model, images: few.images, runner: pool)
                for (i, map) in maps.enumerated() {
                    let path = "pictures/\(m.name)-gradcam-\(i).png"
                    pictures[path] = LabPictures.gradCAM(few, index: i, heatmap: map.heatmap)
                    gradCAMs.append(LabGradCAM(model: m.name, layer: map.layer, truth: name(test.classNames, Int(few.labels[i])),
                                               predicted: name(test.classNames, map.predictedClass), picture: path))
                }
            }
        }
        var report = LabReport(createdAt: ISO8601DateFormatter().string(from: Date()), commandLine: CommandLine.arguments.joined(separator: " "),
                               dataset: data.dataset.rawValue, classNames: test.classNames, epochs: epochs, trainImages: train.count,
                               testImages: test.count, threads: threads, machine: machine.identity.name, roofline: roofline, models: results,
                               augmentation: augment ? "random shifts of up to 2 pixels" + (train.imageShape[2] == 3 ? " and horizontal flips" : "") : nil,
                               notes: ["Sample predictions are those of \((cnnResults.first ?? results.first)?.name ?? "-") (green right, red wrong).",
                                       "Times are measured on this machine; the hardware view is an inference profile at batch 64 with the algorithm auto chose per layer."]
                                       + (quantize ? ["Int8: the quantised model is inference-only; its speed-up is measured against the same float model in this run (AVX2 vpmaddubsw int8 GEMM against the float engine's best algorithm per layer)."] : []))
        report.quantization = quantize ? quantization : nil
        report.gradCAM = gradCam ? gradCAMs : nil
        for (path, png) in pictures { try Data(png).write(to: URL(fileURLWithPath: staging.path(path))) }
        try staging.write(try Console.json(report), to: "lab.json")
        try staging.write(LabRenderer.csv(report), to: "lab.csv")
        try staging.write(LabRenderer.markdown(report), to: "lab.md")
        try staging.write(LabRenderer.html(report, pictures: pictures, samples: samples.map { (path: $0.0, truth: $0.1, predicted: $0.2) }), to: "lab.html")
        try staging.commit()
        var t = TextTable(header: ["model", "test acc", "train s", "ms/image", "params", "acc/M params", "GFLOP/s (inference)"])
        t.rightAligned = [1, 2, 3, 4, 5, 6]
        for m in results {
            t.rows.append([m.name, String(format: "%.2f%%", m.testAccuracy * 100), String(format: "%.1f", m.trainingSeconds),
                           String(format: "%.4f", m.inferenceMsPerImage), "\(m.totalParameters)", String(format: "%.3f", m.accuracyPerMillionParameters),
                           String(format: "%.1f", m.modelGFLOPs.value ?? 0)])
        }
        print(t.render())
        print("Lab report: \(dir)/lab.html (also lab.md, lab.json, lab.csv, pictures/, profiles/)")
    }
}

enum LabPictures {
    /// First-layer filters (one tile per filter, channels averaged) and the feature maps of every
    /// conv layer for one image (up to 64 per layer), as PNG grids.
    static func filtersAndFeatureMaps(_ model: Sequential, image: Dataset, runner: ParallelRunner) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        let convs = model.layers.compactMap { $0 as? Conv2DLayer }
        if let first = convs.first {
            let g = first.geometry
            var tiles: [[Float]] = []
            for k in 0..<g.k {
                var t = [Float](repeating: 0, count: g.r * g.s)
                for r in 0..<g.r { for s in 0..<g.s { for c in 0..<g.c { t[r * g.s + s] += first.kernel.value.data[((r * g.s + s) * g.c + c) * g.k + k] } } }
                tiles.append(t)
            }
            let grid = ImageGrid.grey(tiles: tiles, h: g.r, w: g.s, columns: 8, scale: 8)
            out.append(("filters-\(first.name)", PNGEncoder.encode(width: grid.width, height: grid.height, channels: 1, pixels: grid.pixels)))
        }
        // Feature maps are the convolutions' full outputs: no convolution-with-pooling kernel here.
        model.fuseReluIntoMaxPool(false)
        defer { model.fuseReluIntoMaxPool(true) }
        _ = model.forward(image.images, RunContext(runner: runner, training: false))
        for c in convs {
            guard let y = c.lastOutput else { continue }
            let (P, Q, K) = (c.outputShape[0], c.outputShape[1], c.outputShape[2])
            let n = min(64, K)
            let tiles = (0..<n).map { k in (0..<(P * Q)).map { y.data[$0 * K + k] } }
            let grid = ImageGrid.grey(tiles: tiles, h: P, w: Q, columns: 8, scale: max(1, 56 / max(P, Q)))
            out.append(("feature-maps-\(c.name)", PNGEncoder.encode(width: grid.width, height: grid.height, channels: 1, pixels: grid.pixels)))
        }
        return out
    }

    /// A test image (4x) with its Grad-CAM heatmap blended over it in a blue-to-red colour scale.
    static func gradCAM(_ ds: Dataset, index: Int, heatmap: [Float]) -> [UInt8] {
        let s = ds.imageShape
        let (h, w, c) = (s[0], s[1], s[2])
        let scale = 4
        var px = [UInt8](repeating: 0, count: h * scale * w * scale * 3)
        let base = ds.images.data + index * h * w * c
        func jet(_ v: Float) -> (Float, Float, Float) {
            func ch(_ x: Float) -> Float { max(0, min(1, 1.5 - abs(x))) }
            return (ch(4 * v - 3), ch(4 * v - 2), ch(4 * v - 1))
        }
        for y in 0..<(h * scale) {
            for x in 0..<(w * scale) {
                let sy = y / scale, sx = x / scale
                let hv = heatmap[sy * w + sx]
                let (r, g, b) = jet(hv)
                for (ch, col) in [r, g, b].enumerated() {
                    let v = base[(sy * w + sx) * c + (c == 3 ? ch : 0)]
                    px[(y * w * scale + x) * 3 + ch] = UInt8(max(0, min(255, ((0.55 * v + 0.45 * col) * 255).rounded())))
                }
            }
        }
        return PNGEncoder.encode(width: w * scale, height: h * scale, channels: 3, pixels: px)
    }

    /// One test image, enlarged 2x (grey or RGB).
    static func sample(_ ds: Dataset, index: Int) -> [UInt8] {
        let s = ds.imageShape
        let (h, w, c) = (s[0], s[1], s[2])
        let scale = 2
        var px = [UInt8](repeating: 0, count: h * scale * w * scale * (c == 3 ? 3 : 1))
        let base = ds.images.data + index * h * w * c
        for y in 0..<(h * scale) {
            for x in 0..<(w * scale) {
                for ch in 0..<(c == 3 ? 3 : 1) {
                    let v = base[((y / scale) * w + x / scale) * c + ch]
                    px[(y * w * scale + x) * (c == 3 ? 3 : 1) + ch] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        return PNGEncoder.encode(width: w * scale, height: h * scale, channels: c == 3 ? 3 : 1, pixels: px)
    }
}

/// A class name, or its index when the data set has fewer names.
func name(_ names: [String], _ i: Int) -> String { i >= 0 && i < names.count ? names[i] : "\(i)" }
