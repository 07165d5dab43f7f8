import Foundation

/// The data sets a run can use by name.
public enum DatasetName: String, CaseIterable, Codable, Sendable {
    case fashionMnist = "fashion-mnist", mnist, cifar10, cifar100, stl10, synthetic

    /// MNIST-format data (28x28 grey) rather than colour images.
    public var isMNISTLike: Bool { [.fashionMnist, .mnist, .synthetic].contains(self) }

    /// Training images the lab holds out for validation (from the end of the training set).
    var validationImages: Int {
        switch self {
        case .fashionMnist, .mnist: return 6000
        case .cifar10, .cifar100: return 5000
        case .stl10: return 500
        case .synthetic: return 0
        }
    }

    /// A file that shows the fetched copy is complete.
    var probeFile: String {
        switch self {
        case .cifar10: return "test_batch.bin"
        case .cifar100: return "test.bin"
        case .stl10: return "test_y.bin"
        default: return "t10k-labels-idx1-ubyte.gz"
        }
    }

    /// Where the files are looked for when neither --data-dir nor a fetched copy is there.
    var fallbackFolder: String {
        switch self {
        case .fashionMnist: return "/usr/share/datasets/fashion-mnist"
        case .mnist: return "data/mnist"
        case .cifar10: return "data/cifar-10-batches-bin"
        case .cifar100: return "data/cifar-100-binary"
        case .stl10: return "data/stl10_binary"
        case .synthetic: return ""
        }
    }
}

/// Which images a run uses: a data set, where its files are, and how many.
public struct DataSelection: Sendable {
    public var dataset: DatasetName
    /// The folder with the files; nil is where `cnnscope data fetch` puts them (or the fallback).
    public var dataDir: String?
    /// Only the first N training images (and N/6 test images).
    public var limit: Int?

    public init(dataset: DatasetName = .fashionMnist, dataDir: String? = nil, limit: Int? = nil) {
        (self.dataset, self.dataDir, self.limit) = (dataset, dataDir, limit)
    }

    /// The folder the files are read from.
    public func folder(environment: [String: String]) -> String {
        if let d = dataDir { return d }
        let fetched = DataCatalog.defaultFolder(dataset.rawValue, environment: environment)
        if FileManager.default.fileExists(atPath: fetched.appendingPathComponent(dataset.probeFile).path) {
            return fetched.path
        }
        return dataset.fallbackFolder
    }

    /// Whether the data set's files are where they would be read from (synthetic data always is).
    public func isPresent(environment: [String: String]) -> Bool {
        dataset == .synthetic
            || FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: folder(environment: environment)).appendingPathComponent(dataset.probeFile)
                    .path)
    }

    /// Train (with the lab's validation split taken from its end), validation and test sets.
    public func load(seed: UInt64, syntheticShape: [Int] = [28, 28, 1], environment: [String: String]) throws
        -> (train: Dataset, validation: Dataset, test: Dataset)
    {
        var train: Dataset, test: Dataset, validation = dataset.validationImages
        let dir = folder(environment: environment)
        switch dataset {
        case .fashionMnist, .mnist:
            let names = dataset == .fashionMnist ? IDXLoader.fashionClassNames : IDXLoader.digitClassNames
            train = try IDXLoader.load(dir: dir, prefix: "train", name: dataset.rawValue, classNames: names)
            test = try IDXLoader.load(dir: dir, prefix: "t10k", name: dataset.rawValue, classNames: names)
        case .cifar10:
            (train, test) = (
                try CIFAR10Loader.load(dir: dir, train: true), try CIFAR10Loader.load(dir: dir, train: false)
            )
        case .cifar100:
            train = try CIFAR100Loader.load(dir: dir, train: true)
            test = try CIFAR100Loader.load(dir: dir, train: false)
        case .stl10:
            (train, test) = (try STL10Loader.load(dir: dir, train: true), try STL10Loader.load(dir: dir, train: false))
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

/// Image shapes as users type them: 28x28x1, 32x32x3, 224x224x3 (height x width x channels).
public enum ImageShapeText {
    public static func parse(_ s: String, option: String = "--input-shape") throws -> [Int] {
        let parts = s.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }), parts.allSatisfy({ ($0 ?? 0) <= 8192 }) else {
            throw DatasetError("\(option) must look like 28x28x1 or 32x32x3, got '\(s)'.")
        }
        return parts.map { $0! }
    }
}
