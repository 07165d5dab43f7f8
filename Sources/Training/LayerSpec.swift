import Kernels
import Layers

/// One layer of a graph profile (`layers:` in Profiles/models/*.yaml), in Keras's vocabulary:
/// `{name: block_1_expand, type: Conv2D, filters: 96, kernel_size: 1, use_bias: false}`.
/// `inputs` names the layers it reads (default: the layer above; `input` is the model's input),
/// which is how residual connections are written.
public struct LayerSpec: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case conv2D = "Conv2D", depthwiseConv2D = "DepthwiseConv2D", batchNormalization = "BatchNormalization"
        case relu = "ReLU", activation = "Activation", add = "Add", concatenate = "Concatenate"
        case zeroPadding2D = "ZeroPadding2D"
        case maxPooling2D = "MaxPooling2D", averagePooling2D = "AveragePooling2D"
        case globalAveragePooling2D = "GlobalAveragePooling2D", flatten = "Flatten", dense = "Dense", dropout =
            "Dropout"
        case resizing = "Resizing", rescaling = "Rescaling", grayscaleToRGB = "GrayscaleToRGB"
    }

    public var name: String
    public var type: Kind
    /// Names of the layers read; empty: the layer above (or the model's input for the first).
    public var inputs: [String] = []
    public var filters: Int?
    public var kernelSize: [Int]?
    public var strides: Int?
    public var padding: Padding?
    /// ZeroPadding2D: top, bottom, left, right.
    public var pad: [Int]?
    /// ZeroPadding2D `padding: correct`: Keras's imagenet_utils.correct_pad for a 3x3 stride-2
    /// kernel, which depends on the input size ((0,1) on even sizes, (1,1) on odd).
    public var correctPad = false
    /// Pooling with strides other than the window, or with padding (ONNX MaxPool 3x3 stride 2 pad 1):
    /// window strides (height, width); `pad` then holds the padding and `kernelSize` the window.
    public var windowStrides: [Int]?
    /// Average pooling over padding divides by the whole window (ONNX count_include_pad).
    public var countIncludePad = false
    public var useBias: Bool?
    public var activation: Activation?
    /// Dense units; 0 stands for "the number of classes" (the transfer head's last layer).
    public var units: Int?
    public var rate: Float?
    public var poolSize: Int?
    public var momentum: Float?
    public var epsilon: Float?
    /// Resizing: height, width.
    public var size: [Int]?
    public var scale: Float?
    public var offset: Float?
    public var trainable: Bool?

    static let keys: Set<String> = [
        "name", "type", "inputs", "filters", "kernel_size", "strides", "padding", "use_bias",
        "activation", "units", "rate", "pool_size", "momentum", "epsilon", "size", "scale",
        "offset", "trainable", "max_value",
    ]

    /// Parses one entry; errors name the file, the entry and the key.
    static func parse(_ raw: Any, at key: String, fail: (String, String) -> ProfileError) throws -> LayerSpec {
        guard let m = raw as? [String: Any] else {
            throw fail(key, "expected a mapping like {name: conv1, type: Conv2D, ...}")
        }
        for k in m.keys where !keys.contains(k) {
            throw fail("\(key).\(k)", "unknown key (known: \(keys.sorted().joined(separator: ", ")))")
        }
        guard let name = m["name"] as? String, !name.isEmpty else {
            throw fail("\(key).name", "missing or not a string")
        }
        let at = "\(key) (\(name))"
        guard let typeText = m["type"] as? String else { throw fail("\(at).type", "missing") }
        guard let type = Kind(rawValue: typeText) else {
            throw fail(
                "\(at).type",
                "unknown layer type '\(typeText)' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var spec = LayerSpec(name: name, type: type)
        func int(_ k: String, min: Int = 1) throws -> Int? {
            guard let v = m[k] else { return nil }
            guard let i = v as? Int else { throw fail("\(at).\(k)", "expected an integer, got '\(v)'") }
            guard i >= min else { throw fail("\(at).\(k)", "must be at least \(min), got \(i)") }
            return i
        }
        func float(_ k: String) throws -> Float? {
            guard let v = m[k] else { return nil }
            if let d = v as? Double { return Float(d) }
            if let i = v as? Int { return Float(i) }
            throw fail("\(at).\(k)", "expected a number, got '\(v)'")
        }
        func ints(_ k: String, count: [Int], min: Int) throws -> [Int]? {
            guard let v = m[k] else { return nil }
            let list: [Int]
            if let i = v as? Int {
                list = [i]
            } else if let l = v as? [Int] {
                list = l
            } else if let nested = v as? [[Int]] {
                list = nested.flatMap { $0 }
            } else {
                throw fail("\(at).\(k)", "expected an integer or a list of integers, got '\(v)'")
            }
            guard count.contains(list.count) else {
                throw fail(
                    "\(at).\(k)",
                    "expected \(count.map(String.init).joined(separator: " or ")) values, got \(list.count)")
            }
            guard list.allSatisfy({ $0 >= min }) else {
                throw fail("\(at).\(k)", "every value must be at least \(min), got \(list)")
            }
            return list
        }
        if let v = m["inputs"] {
            if let s = v as? String {
                spec.inputs = [s]
            } else if let l = v as? [String] {
                spec.inputs = l
            } else {
                throw fail("\(at).inputs", "expected a layer name or a list of names, got '\(v)'")
            }
        }
        spec.filters = try int("filters")
        if let ks = try ints("kernel_size", count: [1, 2], min: 1) {
            guard ks.allSatisfy({ $0 <= 15 }) else {
                throw fail("\(at).kernel_size", "must be between 1 and 15, got \(ks)")
            }
            spec.kernelSize = ks.count == 1 ? [ks[0], ks[0]] : ks
        }
        spec.strides = try int("strides")
        if let v = m["padding"] {
            if type == .zeroPadding2D, (v as? String) == "correct" {
                spec.correctPad = true
            } else if type == .zeroPadding2D {
                let p = try ints("padding", count: [1, 2, 4], min: 0)!
                spec.pad = p.count == 1 ? [p[0], p[0], p[0], p[0]] : p.count == 2 ? [p[0], p[0], p[1], p[1]] : p
            } else {
                guard let t = v as? String, let p = Padding(rawValue: t) else {
                    throw fail("\(at).padding", "must be same or valid, got '\(v)'")
                }
                spec.padding = p
            }
        }
        if let v = m["use_bias"] {
            guard let b = v as? Bool else { throw fail("\(at).use_bias", "expected true or false") }; spec.useBias = b
        }
        if let v = m["trainable"] {
            guard let b = v as? Bool else { throw fail("\(at).trainable", "expected true or false") };
            spec.trainable = b
        }
        if let v = m["activation"] {
            guard let t = v as? String, let a = Activation(rawValue: t) else {
                throw fail(
                    "\(at).activation",
                    "unknown activation '\(v)' (known: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            spec.activation = a
        }
        if let mv = try float("max_value") {
            guard type == .relu, mv == 6 else {
                throw fail("\(at).max_value", "only ReLU with max_value 6 (ReLU6) is supported, got \(mv)")
            }
            spec.activation = .relu6
        }
        if type == .relu && spec.activation == nil { spec.activation = .relu }
        spec.units = try int("units", min: 0)
        if let r = try float("rate") {
            guard r >= 0 && r < 1 else { throw fail("\(at).rate", "must be in [0, 1), got \(r)") }
            spec.rate = r
        }
        spec.poolSize = try int("pool_size")
        spec.momentum = try float("momentum")
        if let mo = spec.momentum, !(mo >= 0 && mo < 1) { throw fail("\(at).momentum", "must be in [0, 1), got \(mo)") }
        spec.epsilon = try float("epsilon")
        if let e = spec.epsilon, !(e > 0) { throw fail("\(at).epsilon", "must be positive, got \(e)") }
        spec.size = try ints("size", count: [1, 2], min: 1).map { $0.count == 1 ? [$0[0], $0[0]] : $0 }
        spec.scale = try float("scale")
        spec.offset = try float("offset")
        // What each type needs.
        switch type {
        case .conv2D: guard spec.filters != nil else { throw fail("\(at).filters", "missing (Conv2D needs filters)") }
        case .dense:
            guard spec.units != nil else {
                throw fail("\(at).units", "missing (Dense needs units; 0 means the number of classes)")
            }
        case .resizing:
            guard spec.size != nil else { throw fail("\(at).size", "missing (Resizing needs size: [height, width])") }
        case .rescaling:
            guard spec.scale != nil else { throw fail("\(at).scale", "missing (Rescaling needs scale and offset)") }
        case .dropout: guard spec.rate != nil else { throw fail("\(at).rate", "missing (Dropout needs rate)") }
        case .activation: guard spec.activation != nil else { throw fail("\(at).activation", "missing") }
        default: break
        }
        return spec
    }
}

extension LayerSpec {
    /// A layer with every option at its default (`inputs` empty: the layer above).
    public init(name: String, type: Kind) {
        self.name = name
        self.type = type
    }
}
