import Datasets
import Figures
import Foundation
import Profiling
import Reports
import Tensor
import Transfer

/// `cnnscope lab` without a data set: the whole lab as written, into one folder. The basic CNN,
/// the seven variants and the FCNN on MNIST (Fashion-MNIST stands in, labelled so, when MNIST has
/// not been fetched); the basic CNN on CIFAR-10; MobileNetV2 frozen and fine-tuned on CIFAR-10
/// with the fetched ImageNet weights (else the self-contained experiment, labelled so); then the
/// lab's Part 7: the all-models table with a Dataset column, the winners across every model,
/// random training samples per data set and the transfer predictions as pictures. A data set that
/// is missing is skipped with a line saying how to fetch it.
public struct WholeLabJob {
    /// Options shared with the single-data-set lab (epochs, patience, quick, extensions, seed).
    public var lab = LabJob()
    /// The MNIST part's data; nil is MNIST where fetched, else Fashion-MNIST.
    public var mnist: DataSelection?
    /// The CIFAR-10 folder; nil is where `cnnscope data fetch cifar10` puts it.
    public var cifarDir: String?
    /// ImageNet weights for MobileNetV2; nil is the fetched file, if any.
    public var transferWeights: String?
    /// The transfer part's base (the lab's MobileNetV2; any profile with a head).
    public var transferBase = "mobilenetv2"

    public init() {}

    public func run(in env: RunEnvironment) throws -> (table: AllModelsTable, text: String) {
        let dir = env.outputFolder(lab.output, name: "lab")
        var lines: [String] = [], sources: [String] = []
        var rows: [AllModelsTable.Row] = []
        var samples = ""
        let fetchedMNIST = DataSelection(dataset: .mnist, dataDir: lab.data.dataDir, limit: lab.data.limit)
        var mnist =
            self.mnist
            ?? (fetchedMNIST.isPresent(environment: env.environment)
                ? fetchedMNIST : DataSelection(dataset: .fashionMnist, dataDir: nil, limit: lab.data.limit))
        if lab.quick && mnist.limit == nil { mnist.limit = 3000 }
        var cifar = DataSelection(dataset: .cifar10, dataDir: cifarDir, limit: mnist.limit)
        if lab.quick && cifar.limit == nil { cifar.limit = 3000 }

        func part(_ name: String, _ data: DataSelection, models: [String]?, label: String, as shown: String) throws {
            guard data.isPresent(environment: env.environment) else {
                let (name, folder) = (data.dataset.rawValue, data.folder(environment: env.environment))
                let how = "run `cnnscope data fetch \(name)` or give its folder"
                lines.append("\(label): skipped, \(name) is not in \(folder); \(how)")
                return
            }
            var job = lab
            (job.data, job.models, job.output, job.datasetLabel) = (data, models ?? job.models, "\(dir)/\(name)", shown)
            job.challenges = job.challenges && models == nil  // the challenges join MNIST's part only
            env.log("=== \(label) on \(data.dataset.rawValue)")
            let (report, train, _) = try job.run(in: env)
            rows += AllModelsTable.rows(report)
            sources.append("\(name)/lab.json")
            samples += "<h3>\(HTMLRenderer.escape(shown))</h3>\n"
            samples += TransferRenderer.figures(Self.trainingSamples(train, seed: lab.seed))
            let count = report.models.count == 1 ? "1 model" : "\(report.models.count) models"
            lines.append("\(label): \(name)/lab.html (\(count) on \(shown))")
        }
        let mnistLabel = mnist.dataset == .mnist ? "MNIST" : "MNIST (Fashion-MNIST standing in: MNIST is not fetched)"
        try part("mnist", mnist, models: nil, label: "Parts 2-5, \(mnistLabel)", as: mnist.dataset.rawValue)
        // A CIFAR-10-format folder whose classes are not CIFAR-10's (Scripts/lab/make-cifar-standin) says so.
        let cifarNames = CIFAR10Loader.names(dir: cifar.folder(environment: env.environment))
        let cifarShown = cifarNames == CIFAR10Loader.classNames ? "cifar10" : "cifar10-format stand-in"
        try part(
            "cifar10", cifar, models: ["basic-cnn"], label: "Part 5, the basic CNN on CIFAR-10", as: cifarShown)

        // Part 6: MobileNetV2 on CIFAR-10 with ImageNet weights, else the self-contained experiment.
        var transfer = TransferJob()
        transfer.base = transferBase
        transfer.weights = transferWeights ?? TransferJob.fetchedWeights(transferBase, environment: env.environment)
        let withWeights = transfer.weights != nil && cifar.isPresent(environment: env.environment)
        transfer.data = withWeights ? cifar : mnist
        if !withWeights { transfer.weights = nil }
        (transfer.seed, transfer.output, transfer.patience) = (lab.seed, "\(dir)/transfer", lab.patience)
        transfer.datasetLabel = withWeights ? cifarShown : mnist.dataset.rawValue
        if lab.quick {
            (transfer.epochs, transfer.fineTuneEpochs, transfer.labelled, transfer.pretrainImages) = (1, 1, 500, 3000)
            if withWeights { transfer.inputSize = 96 }
        } else if let e = lab.epochs {
            transfer.epochs = e
        }
        env.log(
            withWeights
                ? "=== Part 6, MobileNetV2 with ImageNet weights on CIFAR-10"
                : "=== Part 6, the self-contained transfer experiment (no ImageNet weights or no CIFAR-10: "
                    + "`cnnscope data fetch mobilenetv2-imagenet` and `cnnscope data fetch cifar10`)")
        let (results, pictures, _) = try transfer.run(in: env)
        rows += results.comparisonRows
        sources.append("transfer/results.json")
        lines.append("Part 6, \(results.experiment): transfer/report.md")
        let predictions = TransferRenderer.figures(pictures.map { ($0.png, $0.truth, $0.predicted) })

        let table = AllModelsTable(rows: rows, sources: sources)
        let staging = try StagingFolder(finalDir: "\(dir)/all-models")
        try staging.write(table.markdown, to: "all-models.md")
        try staging.write(table.csv, to: "all-models.csv")
        try staging.write(try JSONText.pretty(table) + "\n", to: "all-models.json")
        try staging.write(Self.page(table, samples: samples, predictions: predictions, parts: lines), to: "index.html")
        try staging.commit()
        let summary = (lines + [table.markdown, "Whole lab: \(dir)/all-models/index.html"]).joined(separator: "\n")
        return (table, summary)
    }

    /// Ten random training images of a data set with their class (the lab's first look at the data).
    static func trainingSamples(_ train: Dataset, seed: UInt64) -> [(png: [UInt8], truth: String, predicted: String?)] {
        var rng = SeededGenerator(seed: seed)
        let s = train.imageShape, per = s.reduce(1, *)
        return (0..<min(10, train.count)).map { _ in
            let i = rng.nextInt(train.count)
            let name = Int(train.labels[i]) < train.classNames.count ? train.classNames[Int(train.labels[i])] : "?"
            return (
                EnlargedImage.png(
                    train.images.data + i * per, height: s[0], width: s[1], channels: s[2],
                    scale: max(1, 64 / max(1, s[0]))), name, nil
            )
        }
    }

    /// The combined page: the all-models table, winners and charts, then the parts, the training
    /// samples and the transfer predictions.
    static func page(_ table: AllModelsTable, samples: String, predictions: String, parts: [String]) -> String {
        var h = table.html
        let extra =
            "<h2>The lab's parts</h2>\n<ul>\n"
            + parts.map { "<li>\(HTMLRenderer.escape($0))</li>\n" }.joined()
            + "</ul>\n<h2>Random training samples</h2>\n\(samples)"
            + "<h2>Transfer predictions (green: right, red: wrong)</h2>\n\(predictions)"
        if let r = h.range(of: "</body>") { h.insert(contentsOf: extra, at: r.lowerBound) }
        return h
    }
}
