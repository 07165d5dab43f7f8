import ArgumentParser
import Datasets
import Foundation
import Kernels
import Layers
import Onnx
import Training

/// Which model and which input shape.
struct ModelOptions: ParsableArguments {
    @Option(
        help:
            """
            The model: a profile name (a file Profiles/models/NAME.yaml), a path to a .yaml profile, or an ONNX \
            file (.onnx, opsets 11-21, with its weights).
            """
    )
    var model = "basic-cnn"

    func profile() throws -> ModelProfile { try Self.profile(named: model) }

    /// A profile by name (Profiles/models/NAME.yaml) or path.
    static func profile(named model: String) throws -> ModelProfile {
        if OnnxModelImport.isOnnx(model) { return try OnnxModelImport.load(path: model).profile }
        if model.hasSuffix(".yaml") || model.contains("/") {
            return try ModelProfile.load(path: model)
        }
        guard let dir = ProfilesDirectory.locate()?.appendingPathComponent("models") else {
            throw CLIError("cannot find the Profiles/models folder; run from the repository or set CNNSCOPE_PROFILES")
        }
        return try ModelProfile.load(named: model, in: dir)
    }
}

/// Parses 28x28x1 / 32x32x3.
func parseInputShape(_ s: String) throws -> [Int] {
    let parts = s.lowercased().split(separator: "x").map { Int($0) }
    guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("--input-shape must look like 28x28x1 or 32x32x3, got '\(s)'.")
    }
    return parts.map { $0! }
}

enum DatasetName: String, ExpressibleByArgument, CaseIterable {
    case fashionMnist = "fashion-mnist", mnist, cifar10, cifar100, stl10, synthetic
}

/// Where the images come from.
struct DataOptions: ParsableArguments {
    @Option(
        help:
            """
            The data set: fashion-mnist (the default, from the Debian package), mnist, cifar10, cifar100, stl10 \
            (all five from `cnnscope data fetch NAME` or --data-dir) or synthetic (random data of the right \
            shape, for speed runs).
            """
    )
    var dataset: DatasetName = .fashionMnist

    @Option(
        help:
            """
            The folder with the data set's files (IDX files for MNIST and Fashion-MNIST, the binary versions of \
            CIFAR-10, CIFAR-100 and STL-10); the default is where `cnnscope data fetch` puts them.
            """
    )
    var dataDir: String?

    @Option(help: "Use only the first N training images (and N/6 test images), for quick runs.")
    var limit: Int?

    func validate() throws {
        if let l = limit, l < 10 { throw ValidationError("--limit must be at least 10, got \(l).") }
    }

    static let fashionDefault = "/usr/share/datasets/fashion-mnist"

    /// Without --data-dir: the folder `cnnscope data fetch` fills, when it holds the data set, else `fallback`.
    static func fetchedOr(_ d: DatasetName, _ fallback: String) -> String {
        let fetched = DataCatalog.defaultFolder(d.rawValue, environment: ProcessInfo.processInfo.environment)
        let probe: String
        switch d {
        case .cifar10: probe = "test_batch.bin"
        case .cifar100: probe = "test.bin"
        case .stl10: probe = "test_y.bin"
        default: probe = "t10k-labels-idx1-ubyte.gz"
        }
        if FileManager.default.fileExists(atPath: fetched.appendingPathComponent(probe).path) { return fetched.path }
        return fallback
    }

    /// Train (with the lab's validation split taken from its end) and test sets.
    func load(seed: UInt64, syntheticShape: [Int] = [28, 28, 1]) throws -> (
        train: Dataset, validation: Dataset, test: Dataset
    ) {
        var train: Dataset, test: Dataset, validation: Int
        switch dataset {
        case .fashionMnist, .mnist:
            let dir = dataDir ?? Self.fetchedOr(dataset, dataset == .fashionMnist ? Self.fashionDefault : "data/mnist")
            let names = dataset == .fashionMnist ? IDXLoader.fashionClassNames : IDXLoader.digitClassNames
            train = try IDXLoader.load(dir: dir, prefix: "train", name: dataset.rawValue, classNames: names)
            test = try IDXLoader.load(dir: dir, prefix: "t10k", name: dataset.rawValue, classNames: names)
            validation = 6000
        case .cifar10:
            let dir = dataDir ?? Self.fetchedOr(dataset, "data/cifar-10-batches-bin")
            train = try CIFAR10Loader.load(dir: dir, train: true)
            test = try CIFAR10Loader.load(dir: dir, train: false)
            validation = 5000
        case .cifar100:
            let dir = dataDir ?? Self.fetchedOr(dataset, "data/cifar-100-binary")
            train = try CIFAR100Loader.load(dir: dir, train: true)
            test = try CIFAR100Loader.load(dir: dir, train: false)
            validation = 5000
        case .stl10:
            let dir = dataDir ?? Self.fetchedOr(dataset, "data/stl10_binary")
            train = try STL10Loader.load(dir: dir, train: true)
            test = try STL10Loader.load(dir: dir, train: false)
            validation = 500
        case .synthetic:
            let n = limit ?? 6000
            train = Dataset.synthetic(count: n, shape: syntheticShape, seed: seed)
            test = Dataset.synthetic(count: max(10, n / 6), shape: syntheticShape, seed: seed + 1)
            validation = n / 10
        }
        if let l = limit, dataset != .synthetic {
            let full = train.count
            train = train.prefix(l)
            test = test.prefix(max(10, l / 6))
            validation = validation * train.count / full
        }
        let (tr, va) = train.split(validation: max(1, validation))
        return (tr, va, test)
    }
}

/// Convolution algorithm for models.
struct AlgorithmOption: ParsableArguments {
    @Option(
        help:
            """
            The convolution algorithm: naive, im2col, winograd-f2x3, winograd-f4x3 (winograd), or auto (time each \
            once per layer and keep the fastest).
            """
    )
    var convAlgorithm = "auto"

    func validate() throws {
        if convAlgorithm != "auto" && ConvAlgorithmKind(userSpelling: convAlgorithm) == nil {
            throw ValidationError(
                "Unknown --conv-algorithm '\(convAlgorithm)'; use \(ConvAlgorithmKind.userChoices) or auto."
            )
        }
    }

    func policy(selector: AutoSelector) -> ConvAlgorithmPolicy {
        convAlgorithm == "auto" ? .auto(selector) : .fixed(ConvAlgorithmKind(userSpelling: convAlgorithm)!)
    }
}
