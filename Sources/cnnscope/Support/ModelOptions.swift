import ArgumentParser
import Datasets
import Kernels

extension DatasetName: ExpressibleByArgument {}

/// Which model.
struct ModelOptions: ParsableArguments {
    @Option(
        help: """
            The model: a profile name (a file Profiles/models/NAME.yaml), a path to a .yaml profile, an ONNX file \
            (.onnx, opsets 11-21, with its weights) or a Keras 3 archive (.keras).
            """)
    var model = "basic-cnn"
}

/// `--input-shape 28x28x1`.
func parsedInputShape(_ s: String?) throws -> [Int]? {
    do { return try s.map { try ImageShapeText.parse($0) } } catch { throw ValidationError("\(error)") }
}

/// Where the images come from.
struct DataOptions: ParsableArguments {
    @Option(
        help: """
            The data set: fashion-mnist (the default, from the Debian package; cifar10 for transfer with weights), \
            mnist, cifar10, cifar100, stl10 (all five from `cnnscope data fetch NAME` or --data-dir) or synthetic \
            (random data of the right shape, for speed runs).
            """)
    var dataset: DatasetName?
    @Option(
        help: """
            The folder with the data set's files (IDX files for MNIST and Fashion-MNIST, the binary versions of \
            CIFAR-10, CIFAR-100 and STL-10); the default is where `cnnscope data fetch` puts them.
            """)
    var dataDir: String?
    @Option(help: "Use only the first N training images (and N/6 test images), for quick runs.") var limit: Int?

    func validate() throws {
        if let l = limit, l < 10 { throw ValidationError("--limit must be at least 10, got \(l).") }
    }

    func selection(default d: DatasetName = .fashionMnist) -> DataSelection {
        DataSelection(dataset: dataset ?? d, dataDir: dataDir, limit: limit)
    }
}

/// Convolution algorithm for models.
struct AlgorithmOption: ParsableArguments {
    @Option(
        help: """
            The convolution algorithm: naive, im2col, winograd-f2x3, winograd-f4x3 (winograd), or auto (time each once \
            per layer and keep the fastest).
            """)
    var convAlgorithm = "auto"

    func validate() throws {
        if convAlgorithm != "auto" && ConvAlgorithmKind(userSpelling: convAlgorithm) == nil {
            throw ValidationError(
                "Unknown --conv-algorithm '\(convAlgorithm)'; use \(ConvAlgorithmKind.userChoices) or auto.")
        }
    }
}

/// `--events SET`: count an event set per layer (or per algorithm) with the fallback ladder.
struct EventsOption: ParsableArguments {
    @Option(
        help: """
            Count an event set from Profiles/events (FLOPS_SP, CACHE, MEM, IPC, SOFTWARE) per layer; where its events \
            do not open, software events and then timers are used, and each missing value says why.
            """)
    var events: String?
}
