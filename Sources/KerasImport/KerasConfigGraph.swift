import Foundation
import KerasWeights
import Kernels
import Layers
import Training

/// config.json of a Keras 3 Sequential or Functional model as cnnscope layer specs: each Keras
/// layer becomes one LayerSpec of the same name (InputLayer becomes the graph's `input`; a final
/// softmax is fused into the loss and applied for predictions), its inbound tensors the spec's
/// inputs. The weights are read afterwards by layer name from model.weights.h5.
struct KerasConfigGraph {
    let file: String
    var className = ""
    var modelName = ""
    var specs: [LayerSpec] = []
    var inputShape: [Int] = []
    var classes = 0
    var outputsProbabilities = false
    /// "layer/parameter" → values, as ModelProfile.initialValues.
    var values: [String: [Float]] = [:]
    /// Keras layers that are not cnnscope layers (InputLayer, a final Softmax): what reads them reads this.
    private var alias: [String: String] = [:]

    init(_ config: [String: Any], file: String) throws {
        self.file = file
        className = config["class_name"] as? String ?? ""
        guard ["Sequential", "Functional", "Model"].contains(className) else {
            throw KerasImportError(
                "\(file): the model is a \(className.isEmpty ? "model of unknown class" : className); cnnscope imports "
                    + "Sequential and Functional models (subclassed models have no architecture in config.json)")
        }
        let body = config["config"] as? [String: Any] ?? [:]
        modelName = body["name"] as? String ?? "model"
        let layers = body["layers"] as? [[String: Any]] ?? []
        guard !layers.isEmpty else { throw KerasImportError("\(file): config.json lists no layers") }
        if className != "Sequential" { try checkSingleInputOutput(body) }
        for (i, layer) in layers.enumerated() { try add(layer, index: i, sequential: className == "Sequential") }
        if inputShape.isEmpty, let s = (body["build_input_shape"] as? [Any])?.dropFirst().compactMap({ $0 as? Int }) {
            inputShape = Array(s)
        }
        guard inputShape.count == 3 else {
            throw KerasImportError("\(file): the model's input is not an image (H, W, C); found \(inputShape)")
        }
        guard let last = specs.last else { throw KerasImportError("\(file): the model has no layers cnnscope runs") }
        let outputs = body["output_layers"] as? [Any] ?? []
        if className != "Sequential",
            let out = (outputs.first as? String) ?? ((outputs.first as? [Any])?.first as? String)
        {
            guard (alias[out] ?? out) == last.name else {
                throw KerasImportError(
                    "\(file): the output layer '\(out)' is not the last layer of config.json; cnnscope needs it last")
            }
        }
        guard last.type == .dense || last.type == .activation || last.type == .globalAveragePooling2D else {
            throw KerasImportError(
                "\(file): the model ends in \(last.type.rawValue) '\(last.name)'; cnnscope imports classifiers that "
                    + "end in Dense (optionally followed by a softmax)")
        }
        classes = specs.last(where: { $0.type == .dense })?.units ?? 0
        outputsProbabilities = last.activation == .softmax
    }

    private func checkSingleInputOutput(_ body: [String: Any]) throws {
        let ins = body["input_layers"] as? [Any] ?? [], outs = body["output_layers"] as? [Any] ?? []
        // A single input or output is written either as one [name, 0, 0] or as a list of them.
        func count(_ a: [Any]) -> Int { a.first is String ? 1 : a.count }
        guard count(ins) == 1, count(outs) == 1 else {
            throw KerasImportError(
                "\(file): the model has \(count(ins)) inputs and \(count(outs)) outputs; cnnscope imports one of each")
        }
    }

    /// The names of the layers a Functional layer reads (its first call's tensors).
    private func inbound(_ layer: [String: Any], name: String) throws -> [String] {
        guard let nodes = layer["inbound_nodes"] as? [[String: Any]], !nodes.isEmpty else { return [] }
        guard nodes.count == 1 else {
            throw KerasImportError(
                "\(file): layer '\(name)' is called \(nodes.count) times (shared layers are not supported)")
        }
        var names: [String] = []
        func collect(_ v: Any) {
            if let d = v as? [String: Any], let cfg = d["config"] as? [String: Any],
                let history = cfg["keras_history"] as? [Any], let n = history.first as? String
            {
                names.append(n)
            } else if let list = v as? [Any] {
                list.forEach(collect)
            }
        }
        collect(nodes[0]["args"] ?? [])
        return names.map { alias[$0] ?? $0 }
    }

    private mutating func add(_ layer: [String: Any], index: Int, sequential: Bool) throws {
        let type = layer["class_name"] as? String ?? "?"
        let cfg = layer["config"] as? [String: Any] ?? [:]
        let name = cfg["name"] as? String ?? layer["name"] as? String ?? "layer_\(index)"
        let at = "\(file): layer '\(name)' (\(type))"
        func fail(_ why: String) -> KerasImportError { KerasImportError("\(at): \(why)") }
        func ints(_ k: String) -> [Int]? {
            if let i = cfg[k] as? Int { return [i, i] }
            return (cfg[k] as? [Any])?.compactMap { $0 as? Int }
        }
        func float(_ k: String) -> Float? { (cfg[k] as? NSNumber).map { $0.floatValue } }
        func activation(_ k: String = "activation") throws -> Activation {
            let text = cfg[k] as? String ?? "linear"
            guard let a = Activation(rawValue: text) else {
                throw fail("activation '\(text)' is not one cnnscope has (\(Activation.allCases.map(\.rawValue)))")
            }
            return a
        }
        func requireChannelsLast() throws {
            if let f = cfg["data_format"] as? String, f != "channels_last" {
                throw fail("data_format \(f); use channels_last")
            }
        }
        func square(_ k: String) throws -> Int? {
            guard let v = ints(k) else { return nil }
            guard v.count == 2, v[0] == v[1] else { throw fail("\(k) \(v) is not square; cnnscope needs equal sizes") }
            return v[0]
        }
        if type == "InputLayer" {
            let shape = (cfg["batch_shape"] ?? cfg["batch_input_shape"]) as? [Any] ?? []
            inputShape = shape.dropFirst().compactMap { $0 as? Int }
            guard inputShape.count == 3 else { throw fail("the input shape \(shape) is not (None, H, W, C)") }
            alias[name] = "input"
            return
        }
        if inputShape.isEmpty, index == 0,
            let s = ((layer["build_config"] as? [String: Any])?["input_shape"] as? [Any])?.dropFirst()
        {
            inputShape = s.compactMap { $0 as? Int }
        }
        var spec: LayerSpec
        switch type {
        case "Conv2D", "DepthwiseConv2D":
            try requireChannelsLast()
            guard ints("dilation_rate") ?? [1, 1] == [1, 1] else { throw fail("dilation_rate other than 1") }
            guard (cfg["groups"] as? Int ?? 1) == 1 else { throw fail("grouped convolution (groups > 1)") }
            guard (cfg["depth_multiplier"] as? Int ?? 1) == 1 else { throw fail("depth_multiplier other than 1") }
            spec = LayerSpec(name: name, type: type == "Conv2D" ? .conv2D : .depthwiseConv2D)
            spec.filters = cfg["filters"] as? Int
            spec.kernelSize = ints("kernel_size")
            spec.strides = try square("strides") ?? 1
            guard let p = Padding(rawValue: cfg["padding"] as? String ?? "valid") else { throw fail("padding") }
            spec.padding = p
            spec.activation = try activation()
            spec.useBias = cfg["use_bias"] as? Bool ?? true
        case "Dense":
            spec = LayerSpec(name: name, type: .dense)
            spec.units = cfg["units"] as? Int
            spec.activation = try activation()
            spec.useBias = cfg["use_bias"] as? Bool ?? true  // cnnscope's Dense always has a bias (zero here)
        case "BatchNormalization":
            guard cfg["center"] as? Bool ?? true, cfg["scale"] as? Bool ?? true else {
                throw fail("center and scale must both be true")
            }
            if let axis = cfg["axis"] as? Int, axis != -1, axis != 3 {
                throw fail("axis \(axis); cnnscope normalises channels")
            }
            spec = LayerSpec(name: name, type: .batchNormalization)
            spec.momentum = float("momentum")
            spec.epsilon = float("epsilon")
        case "MaxPooling2D", "AveragePooling2D":
            try requireChannelsLast()
            guard (cfg["padding"] as? String ?? "valid") == "valid" else { throw fail("padding same in pooling") }
            spec = LayerSpec(name: name, type: type == "MaxPooling2D" ? .maxPooling2D : .averagePooling2D)
            let pool = try square("pool_size") ?? 2
            let strides = ints("strides") ?? [pool, pool]
            spec.poolSize = pool
            if strides != [pool, pool] {
                (spec.kernelSize, spec.windowStrides, spec.pad) = ([pool, pool], strides, [0, 0, 0, 0])
            }
        case "GlobalAveragePooling2D":
            guard !(cfg["keepdims"] as? Bool ?? false) else { throw fail("keepdims true") }
            spec = LayerSpec(name: name, type: .globalAveragePooling2D)
        case "Flatten":
            spec = LayerSpec(name: name, type: .flatten)
        case "Dropout":
            spec = LayerSpec(name: name, type: .dropout)
            spec.rate = float("rate") ?? 0
        case "Activation", "ReLU", "Softmax", "LeakyReLU":
            spec = LayerSpec(name: name, type: type == "ReLU" ? .relu : .activation)
            switch type {
            case "ReLU":
                let mv = float("max_value")
                guard mv == nil || mv == 6, float("negative_slope") ?? 0 == 0, float("threshold") ?? 0 == 0 else {
                    throw fail("only ReLU and ReLU(max_value=6) are supported")
                }
                spec.activation = mv == 6 ? .relu6 : .relu
            case "Softmax": spec.activation = .softmax
            case "LeakyReLU":
                guard float("negative_slope") == Activation.leakySlope else {
                    throw fail("negative_slope \(float("negative_slope") ?? .nan); cnnscope's leaky ReLU has 0.2")
                }
                spec.activation = .leakyRelu
            default: spec.activation = try activation()
            }
        case "Add":
            spec = LayerSpec(name: name, type: .add)
        case "Concatenate":
            guard [-1, 3].contains(cfg["axis"] as? Int ?? -1) else {
                throw fail("concatenation along another axis than channels")
            }
            spec = LayerSpec(name: name, type: .concatenate)
        case "ZeroPadding2D":
            try requireChannelsLast()
            let p = ((cfg["padding"] as? [Any]) ?? []).flatMap {
                ($0 as? [Int]) ?? [($0 as? Int) ?? 0, ($0 as? Int) ?? 0]
            }
            guard p.count == 4 else { throw fail("padding \(cfg["padding"] ?? "?")") }
            spec = LayerSpec(name: name, type: .zeroPadding2D)
            spec.pad = p
        case "Rescaling":
            guard let scale = float("scale") else { throw fail("a per-channel scale; cnnscope takes one number") }
            spec = LayerSpec(name: name, type: .rescaling)
            (spec.scale, spec.offset) = (scale, float("offset") ?? 0)
        case "Resizing":
            guard (cfg["interpolation"] as? String ?? "bilinear") == "bilinear" else { throw fail("only bilinear") }
            spec = LayerSpec(name: name, type: .resizing)
            spec.size = [cfg["height"] as? Int ?? 0, cfg["width"] as? Int ?? 0]
        case "Sequential", "Functional", "Model":
            throw fail("a nested model; save it with its layers at the top level (cnnscope reads one level)")
        default:
            throw fail(
                "cnnscope has no such layer; it imports Conv2D, DepthwiseConv2D, Dense, BatchNormalization, "
                    + "MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout, Activation, ReLU, "
                    + "LeakyReLU, Softmax, Add, Concatenate, ZeroPadding2D, Rescaling, Resizing")
        }
        spec.trainable = (cfg["trainable"] as? Bool) == false ? false : nil
        if !sequential {
            spec.inputs = try inbound(layer, name: name)
            if spec.inputs.count > 1 && ![.add, .concatenate].contains(spec.type) {
                throw fail("it reads \(spec.inputs.count) tensors")
            }
        } else if specs.isEmpty {
            spec.inputs = ["input"]
        }
        specs.append(spec)
    }

    /// Reads each layer's variables (`/layers/<name>/vars/<i>`, Keras's order) into `values`;
    /// returns the number of values. A layer without its variables is an error naming it.
    mutating func readWeights(_ h5: HDF5File) throws -> Int {
        var total = 0
        for s in specs {
            let names: [String]
            switch s.type {
            case .conv2D, .dense: names = s.useBias == false ? ["kernel"] : ["kernel", "bias"]
            case .depthwiseConv2D:
                names = s.useBias == false ? ["depthwise_kernel"] : ["depthwise_kernel", "bias"]
            case .batchNormalization: names = ["gamma", "beta", "moving_mean", "moving_variance"]
            default: continue
            }
            let vars = "/layers/\(s.name)/vars"
            guard h5.exists(vars) else {
                throw KerasImportError(
                    "\(file): model.weights.h5 has no weights for layer '\(s.name)' (\(s.type.rawValue))")
            }
            let found = try h5.children(vars).count
            guard found == names.count else {
                throw KerasImportError(
                    "\(file): layer '\(s.name)' has \(found) variables in model.weights.h5, expected \(names.count) "
                        + "(\(names.joined(separator: ", ")))")
            }
            for (i, n) in names.enumerated() {
                let (_, v) = try h5.floats("\(vars)/\(i)")
                values["\(s.name)/\(n)"] = v
                total += v.count
            }
            // A Dense without bias still has cnnscope's bias parameter: zero, as Keras computes it.
            if s.type == .dense && names.count == 1, let units = s.units {
                values["\(s.name)/bias"] = .init(repeating: 0, count: units)
            }
        }
        return total
    }
}
