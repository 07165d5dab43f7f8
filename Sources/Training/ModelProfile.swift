import Foundation
import Kernels
import Layers
import Yams

/// One convolution block in the lab's vocabulary.
public struct ConvBlockSpec: Codable, Equatable, Sendable {
    public var filters: Int
    public var kernelSize: [Int]
    public var padding: Padding
    public var strides: Int
    /// Conv layers in the block before the pool.
    public var convs: Int
    /// 0: no pooling.
    public var poolSize: Int
    public var poolType: PoolType
}

/// An architecture as the lab writes it (`Profiles/models/*.yaml`).
public struct ModelProfile: Codable, Equatable, Sendable {
    public var name: String
    public var description: String
    public var convBlocks: [ConvBlockSpec]
    public var activation: Activation
    public var batchNorm: Bool
    public var denseUnits: [Int]
    public var dropoutRate: Float
    public var optimizer: String
    public var learningRate: Double
    public var classes: Int
    /// A graph profile's layers (`layers:`), in order; empty for the lab's block vocabulary.
    public var layers: [LayerSpec] = []
    /// The classifier a graph base gets when it is trained (`head:`); empty for none.
    public var head: [LayerSpec] = []
    /// The input the architecture is defined for (`input_shape:`, e.g. 224x224x3 for ImageNet
    /// bases); nil: whatever the data set gives.
    public var inputShape: [Int]?
    /// The file the profile was read from (for error messages).
    public var source: String = ""
    /// Weights that come with the architecture (an imported ONNX model), by "layer/parameter"
    /// in cnnscope's layout; they replace the seeded initialisation where the names match.
    public var initialValues: [String: [Float]] = [:]
    /// The source model ends in a softmax that cnnscope fuses into the loss: predictions
    /// (`infer`) apply it to the logits so that outputs compare with the source's.
    public var outputsProbabilities = false

    static let topKeys: Set<String> = [
        "name", "description", "conv_blocks", "activation", "batch_norm", "dense_units",
        "dropout_rate", "optimizer", "learning_rate", "classes",
        "layers", "head", "input_shape",
    ]
    static let blockKeys: Set<String> = [
        "filters", "kernel_size", "padding", "strides", "convs", "pool_size", "pool_type",
    ]

    /// Parses and validates a profile. Errors name the file, the key and the reason.
    public static func parse(_ text: String, file: String) throws -> ModelProfile {
        func fail(_ key: String, _ why: String) -> ProfileError { ProfileError("\(file): \(key): \(why)") }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ProfileError("\(file): not valid YAML: \("\(error)".split(separator: "\n").first ?? "")")
        }
        guard let top = node as? [String: Any] else {
            throw ProfileError("\(file): expected a mapping of keys at the top level")
        }
        for k in top.keys where !topKeys.contains(k) {
            throw fail(k, "unknown key (known: \(topKeys.sorted().joined(separator: ", ")))")
        }
        func int(_ v: Any?, _ key: String, min: Int = 1) throws -> Int? {
            guard let v else { return nil }
            guard let i = v as? Int else { throw fail(key, "expected an integer, got '\(v)'") }
            guard i >= min else { throw fail(key, "must be at least \(min), got \(i)") }
            return i
        }
        func double(_ v: Any?, _ key: String) throws -> Double? {
            guard let v else { return nil }
            if let d = v as? Double { return d }
            if let i = v as? Int { return Double(i) }
            throw fail(key, "expected a number, got '\(v)'")
        }
        guard let name = top["name"] as? String, !name.isEmpty else { throw fail("name", "missing or not a string") }
        var blocks: [ConvBlockSpec] = []
        if let raw = top["conv_blocks"] {
            guard let list = raw as? [Any] else { throw fail("conv_blocks", "expected a list of blocks") }
            for (i, item) in list.enumerated() {
                let key = "conv_blocks[\(i)]"
                guard let b = item as? [String: Any] else { throw fail(key, "expected a mapping") }
                for k in b.keys where !blockKeys.contains(k) {
                    throw fail("\(key).\(k)", "unknown key (known: \(blockKeys.sorted().joined(separator: ", ")))")
                }
                guard let filters = try int(b["filters"], "\(key).filters") else {
                    throw fail("\(key).filters", "missing")
                }
                var ks: [Int] = [3, 3]
                if let k = b["kernel_size"] {
                    if let i = k as? Int {
                        ks = [i, i]
                    } else if let l = k as? [Int], l.count == 2 {
                        ks = l
                    } else {
                        throw fail("\(key).kernel_size", "expected an integer or [rows, cols], got '\(k)'")
                    }
                    guard ks.allSatisfy({ $0 >= 1 && $0 <= 15 }) else {
                        throw fail("\(key).kernel_size", "must be between 1 and 15, got \(ks)")
                    }
                }
                let padText = (b["padding"] as? String) ?? "same"
                guard let pad = Padding(rawValue: padText) else {
                    throw fail("\(key).padding", "must be same or valid, got '\(padText)'")
                }
                let poolText = (b["pool_type"] as? String) ?? "max"
                guard let pt = PoolType(rawValue: poolText) else {
                    throw fail("\(key).pool_type", "must be max or avg, got '\(poolText)'")
                }
                blocks.append(
                    ConvBlockSpec(
                        filters: filters, kernelSize: ks, padding: pad,
                        strides: try int(b["strides"], "\(key).strides") ?? 1,
                        convs: try int(b["convs"], "\(key).convs") ?? 1,
                        poolSize: try int(b["pool_size"], "\(key).pool_size", min: 0) ?? 2,
                        poolType: pt))
            }
        }
        let actText = (top["activation"] as? String) ?? "relu"
        guard let act = Activation(rawValue: actText), act != .softmax else {
            throw fail("activation", "must be one of relu, elu, leaky_relu, tanh, sigmoid, linear; got '\(actText)'")
        }
        var dense: [Int] = []
        if let d = top["dense_units"] {
            if let i = d as? Int {
                dense = [i]
            } else if let l = d as? [Int] {
                dense = l
            } else {
                throw fail("dense_units", "expected a list of integers, got '\(d)'")
            }
            guard dense.allSatisfy({ $0 >= 1 }) else {
                throw fail("dense_units", "every size must be positive, got \(dense)")
            }
        }
        let dropout = try double(top["dropout_rate"], "dropout_rate") ?? 0
        guard dropout >= 0 && dropout < 1 else { throw fail("dropout_rate", "must be in [0, 1), got \(dropout)") }
        let opt = ((top["optimizer"] as? String) ?? "adam").lowercased()
        guard ["adam", "sgd"].contains(opt) else { throw fail("optimizer", "must be adam or sgd, got '\(opt)'") }
        let lr = try double(top["learning_rate"], "learning_rate") ?? (opt == "adam" ? 1e-3 : 1e-2)
        guard lr > 0 && lr < 10 else { throw fail("learning_rate", "must be in (0, 10), got \(lr)") }
        var bn = false
        if let v = top["batch_norm"] {
            guard let b = v as? Bool else { throw fail("batch_norm", "expected true or false") }; bn = b
        }
        var profile = ModelProfile(
            name: name, description: (top["description"] as? String) ?? "", convBlocks: blocks,
            activation: act, batchNorm: bn, denseUnits: dense, dropoutRate: Float(dropout),
            optimizer: opt, learningRate: lr, classes: try int(top["classes"], "classes", min: 2) ?? 10,
            source: file)
        func specs(_ key: String) throws -> [LayerSpec] {
            guard let raw = top[key] else { return [] }
            guard let list = raw as? [Any], !list.isEmpty else {
                throw fail(key, "expected a non-empty list of layers")
            }
            return try list.enumerated().map { try LayerSpec.parse($0.element, at: "\(key)[\($0.offset)]", fail: fail) }
        }
        profile.layers = try specs("layers")
        profile.head = try specs("head")
        if !profile.layers.isEmpty && (!blocks.isEmpty || !dense.isEmpty) {
            throw fail(
                "layers",
                "a profile has either layers (a graph) or conv_blocks/dense_units (the lab's vocabulary), not both")
        }
        if !profile.head.isEmpty && profile.layers.isEmpty {
            throw fail("head", "only a graph profile (layers:) takes a head")
        }
        var seen = Set<String>()
        for (i, l) in (profile.layers + profile.head).enumerated() {
            let key = i < profile.layers.count ? "layers[\(i)]" : "head[\(i - profile.layers.count)]"
            guard seen.insert(l.name).inserted else { throw fail("\(key).name", "the name '\(l.name)' is used twice") }
            for src in l.inputs where src != "input" && !seen.contains(src) {
                throw fail("\(key).inputs", "'\(src)' is not a layer defined above '\(l.name)'")
            }
        }
        if let v = top["input_shape"] {
            guard let l = v as? [Int], l.count == 3, l.allSatisfy({ $0 >= 1 && $0 <= 4096 }) else {
                throw fail("input_shape", "expected [height, width, channels], got '\(v)'")
            }
            profile.inputShape = l
        }
        return profile
    }

    public static func load(path: String) throws -> ModelProfile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError("\(path): cannot read the model profile")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Finds `<name>.yaml` in `dir`; unknown names list the available ones.
    public static func load(named name: String, in dir: URL) throws -> ModelProfile {
        let path = dir.appendingPathComponent("\(name).yaml").path
        if FileManager.default.fileExists(atPath: path) { return try load(path: path) }
        let known = available(in: dir)
        throw ProfileError("unknown model '\(name)'; the profiles in \(dir.path) are: \(known.joined(separator: ", "))")
    }

    public static func available(in dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }
}

public struct ProfileError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ s: String) { description = s }
}

extension ModelProfile {
    /// A graph profile made in code (an imported model): layers in order, the input shape, and the
    /// number of classes its last layer gives.
    public init(name: String, description: String, layers: [LayerSpec], inputShape: [Int], classes: Int) {
        self.name = name
        self.description = description
        convBlocks = []
        activation = .relu
        batchNorm = false
        denseUnits = []
        dropoutRate = 0
        optimizer = "adam"
        learningRate = 0.001
        self.classes = classes
        self.layers = layers
        self.inputShape = inputShape
    }
}
