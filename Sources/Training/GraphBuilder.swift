import Kernels
import Layers
import Tensor

/// Builds a graph profile (`layers:`) into a model: Keras layer names from the file, inputs by
/// name, shapes checked layer by layer (errors name the file and the layer). When the data's
/// images differ from the profile's `input_shape`, input adapters come first: grey to RGB for
/// one-channel images and a bilinear resize to the target size.
enum GraphBuilder {
    static func build(
        _ p: ModelProfile, input: [Int], policy: ConvAlgorithmPolicy, options: ConvOptions,
        includeHead: Bool, resizeTo: [Int]?
    ) throws -> Sequential {
        let file = p.source.isEmpty ? p.name : p.source
        var layers: [Layer] = []
        var inputs: [[Int]] = []
        var index: [String: Int] = [:]
        var target = resizeTo ?? p.inputShape ?? input
        if target.count == 3 && input.count == 3 && target[2] != input[2] && input[2] != 1 {
            throw ProfileError(
                """
                \(file): the model takes \(target[2]) channels but the images have \(input[2]); only one-channel \
                images are converted (grey to RGB)
                """
            )
        }
        if input.count == 3 && target.count == 3 { target[2] = max(target[2], input[2]) }
        var shape = input
        func append(_ l: Layer, from srcs: [Int]) {
            index[l.name] = layers.count
            layers.append(l)
            inputs.append(srcs)
            shape = l.outputShape
        }
        if input.count == 3 && target.count == 3 {
            if input[2] == 1 && target[2] == 3 {
                append(try RepeatChannelsLayer(name: "grey_to_rgb", input: shape, times: 3), from: [layers.count - 1])
            }
            if input[0] != target[0] || input[1] != target[1] {
                append(
                    try ResizeBilinearLayer(name: "resize", input: shape, height: target[0], width: target[1]),
                    from: [layers.count - 1])
            }
        }
        let specs = p.layers + (includeHead ? p.head : [])
        // `input` in a profile means the images as the architecture takes them: after the adapters.
        let inputIndex = layers.count - 1
        for (i, spec) in specs.enumerated() {
            let srcs: [Int] =
                spec.inputs.isEmpty ? [layers.count - 1] : spec.inputs.map { $0 == "input" ? inputIndex : index[$0]! }
            // −1: the raw model input (no adapters).
            let shapes = srcs.map { $0 < 0 ? input : layers[$0].outputShape }
            let inShape = shapes[0]
            let isLast = i == specs.count - 1
            do {
                append(
                    try make(
                        spec, input: inShape, classes: p.classes, isLast: isLast, policy: policy, options: options,
                        inputShapes: shapes), from: srcs)
            } catch let e as ProfileError {
                throw e
            } catch {
                throw ProfileError("\(file): layer \(spec.name) (\(spec.type.rawValue)) on input \(inShape): \(error)")
            }
        }
        do {
            let model = try Sequential(name: p.name, inputShape: input, layers: layers, inputs: inputs)
            for (l, spec) in zip(layers.suffix(specs.count), specs) where spec.trainable == false {
                l.trainable = false
            }
            return model
        } catch {
            throw ProfileError("\(file): \(error)")
        }
    }

    static func make(
        _ s: LayerSpec, input: [Int], classes: Int, isLast: Bool, policy: ConvAlgorithmPolicy,
        options: ConvOptions, inputShapes: [[Int]]
    ) throws -> Layer {
        let ks = s.kernelSize ?? [3, 3]
        // The last layer's softmax is fused into the loss (and applied for predictions).
        var act = s.activation ?? .linear
        if isLast && act == .softmax { act = .linear }
        switch s.type {
        case .conv2D:
            return try Conv2DLayer(
                name: s.name, input: input, filters: s.filters!, kernel: ks[0], ks[1], stride: s.strides ?? 1,
                padding: s.padding ?? .valid, activation: act, useBias: s.useBias ?? true,
                policy: policy, options: options)
        case .depthwiseConv2D:
            return try DepthwiseConv2DLayer(
                name: s.name, input: input, kernel: ks[0], ks[1], stride: s.strides ?? 1,
                padding: s.padding ?? .valid, activation: act, useBias: s.useBias ?? true, options: options)
        case .batchNormalization:
            let bn = try BatchNormLayer(name: s.name, input: input)
            if let m = s.momentum { bn.momentum = m }
            if let e = s.epsilon { bn.epsilon = e }
            return bn
        case .relu, .activation:
            return ActivationLayer(
                name: s.name, input: input, activation: act, kerasClass: s.type == .relu ? "ReLU" : "Activation")
        case .add:
            for shape in inputShapes where shape != input {
                throw TensorError.invalidDimension("\(s.name): Add needs inputs of one shape, got \(inputShapes)")
            }
            return try AddLayer(name: s.name, input: input, inputs: inputShapes.count)
        case .concatenate:
            return try ConcatenateLayer(name: s.name, inputs: inputShapes)
        case .zeroPadding2D:
            var p = s.pad ?? [1, 1, 1, 1]
            if s.correctPad, input.count == 3 {
                p = [input[0] % 2, 1, input[1] % 2, 1]  // ((k//2 − adjust, k//2), ...), adjust = 1 − size % 2
            }
            return try ZeroPadding2DLayer(name: s.name, input: input, top: p[0], bottom: p[1], left: p[2], right: p[3])
        case .maxPooling2D, .averagePooling2D:
            let type: PoolType = s.type == .maxPooling2D ? .max : .avg
            let pool = s.poolSize ?? 2
            let window = s.kernelSize ?? [pool, pool], strides = s.windowStrides ?? window
            let pad = s.pad ?? [0, 0, 0, 0]
            if window == [pool, pool] && strides == window && pad == [0, 0, 0, 0] {
                let layer = try PoolingLayer(name: s.name, input: input, pool: pool, type: type)
                layer.options = options
                return layer
            }
            return try WindowPoolingLayer(
                name: s.name, input: input, type: type, window: (window[0], window[1]),
                strides: (strides[0], strides[1]), pads: (pad[0], pad[1], pad[2], pad[3]),
                countIncludesPadding: s.countIncludePad)
        case .globalAveragePooling2D:
            return try GlobalAveragePoolingLayer(name: s.name, input: input)
        case .flatten:
            return FlattenLayer(name: s.name, input: input)
        case .dense:
            guard input.count == 1 else {
                throw ProfileError(
                    """
                    layer \(s.name): Dense needs a flat input, got \(input); add Flatten or \
                    GlobalAveragePooling2D before it
                    """
                )
            }
            let units = s.units == 0 ? classes : s.units!
            let dense = try DenseLayer(name: s.name, inputFeatures: input[0], units: units, activation: act)
            dense.options = options
            return dense
        case .dropout:
            return try DropoutLayer(name: s.name, input: input, rate: s.rate!)
        case .resizing:
            return try ResizeBilinearLayer(name: s.name, input: input, height: s.size![0], width: s.size![1])
        case .rescaling:
            return RescalingLayer(name: s.name, input: input, scale: s.scale!, offset: s.offset ?? 0)
        case .grayscaleToRGB:
            return try RepeatChannelsLayer(name: s.name, input: input, times: 3)
        }
    }
}
