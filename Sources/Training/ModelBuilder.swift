import Kernels
import Layers
import Tensor

/// Builds a Sequential model from a profile for an input shape, named as Keras names layers,
/// initialised as Keras (Glorot-uniform kernels, zero biases) from a seed.
public enum ModelBuilder {
    /// `includeHead`: a graph base gets its `head:` classifier (off for profiling the base as
    /// Keras's include_top=False). `resizeTo`: the size a graph model's input is resized to
    /// (default its `input_shape`).
    public static func build(
        _ p: ModelProfile, input: [Int], policy: ConvAlgorithmPolicy = .fixed(.im2col),
        options: ConvOptions = ConvOptions(), seed: UInt64 = 42,
        includeHead: Bool = true, resizeTo: [Int]? = nil
    ) throws -> Sequential {
        if !p.layers.isEmpty {
            let model = try GraphBuilder.build(
                p, input: input, policy: policy, options: options,
                includeHead: includeHead, resizeTo: resizeTo)
            initialise(model, seed: seed)
            try assignInitialValues(p, to: model)
            return model
        }
        var counters: [String: Int] = [:]
        func keras(_ base: String) -> String {
            let n = counters[base, default: 0]
            counters[base] = n + 1
            return n == 0 ? base : "\(base)_\(n)"
        }
        var layers: [Layer] = []
        var shape = input
        for (bi, b) in p.convBlocks.enumerated() {
            for _ in 0..<b.convs {
                let conv: Conv2DLayer
                do {
                    conv = try Conv2DLayer(
                        name: keras("conv2d"), input: shape, filters: b.filters, kernel: b.kernelSize[0],
                        b.kernelSize[1],
                        stride: b.strides, padding: b.padding, activation: p.activation,
                        policy: policy, options: options)
                } catch {
                    throw ProfileError("\(p.source.isEmpty ? p.name : p.source): conv_blocks[\(bi)]: \(error)")
                }
                layers.append(conv)
                shape = conv.outputShape
                // The lab's create_cnn_with_config: Conv2D(activation), then BatchNormalization (which
                // therefore cannot fold into the convolution at inference: a ReLU lies between).
                if p.batchNorm {
                    layers.append(try BatchNormLayer(name: keras("batch_normalization"), input: shape))
                }
            }
            if b.poolSize > 0 {
                guard shape[0] / b.poolSize >= 1, shape[1] / b.poolSize >= 1 else {
                    throw ProfileError(
                        """
                        \(p.source.isEmpty ? p.name : p.source): conv_blocks[\(bi)].pool_size: a \
                        \(b.poolSize)x\(b.poolSize) pool shrinks the \(shape[0])x\(shape[1]) map below 1x1 for \
                        input \(input)
                        """
                    )
                }
                let pool = try PoolingLayer(
                    name: keras(b.poolType == .max ? "max_pooling2d" : "average_pooling2d"),
                    input: shape, pool: b.poolSize, type: b.poolType)
                pool.options = options
                layers.append(pool)
                shape = pool.outputShape
            }
        }
        if shape.count > 1 {
            let f = FlattenLayer(name: keras("flatten"), input: shape)
            layers.append(f)
            shape = f.outputShape
        }
        for u in p.denseUnits {
            let d = try DenseLayer(name: keras("dense"), inputFeatures: shape[0], units: u, activation: p.activation)
            d.options = options
            layers.append(d)
            shape = d.outputShape
            if p.dropoutRate > 0 {
                layers.append(try DropoutLayer(name: keras("dropout"), input: shape, rate: p.dropoutRate))
            }
        }
        // The softmax of the output layer is fused into the loss (and applied for predictions).
        let head = try DenseLayer(name: keras("dense"), inputFeatures: shape[0], units: p.classes, activation: .linear)
        head.options = options
        layers.append(head)
        let model = Sequential(name: p.name, inputShape: input, layers: layers)
        initialise(model, seed: seed)
        return model
    }

    /// Copies the profile's own weights (an imported model's) into the built layers.
    static func assignInitialValues(_ p: ModelProfile, to model: Sequential) throws {
        guard !p.initialValues.isEmpty else { return }
        let file = p.source.isEmpty ? p.name : p.source
        for l in model.layers {
            for param in l.parameters {
                guard let v = p.initialValues["\(l.name)/\(param.name)"] else { continue }
                guard v.count == param.value.count else {
                    throw ProfileError(
                        "\(file): \(l.name)/\(param.name) has \(v.count) values, the layer needs \(param.value.count)")
                }
                v.withUnsafeBufferPointer { param.value.data.update(from: $0.baseAddress!, count: v.count) }
                param.version += 1
            }
        }
    }

    /// Glorot-uniform kernels (limit √(6/(fan_in+fan_out))), zero biases; batch norm as Keras.
    public static func initialise(_ model: Sequential, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for l in model.layers {
            if let c = l as? Conv2DLayer {
                let g = c.geometry
                glorot(c.kernel.value, fanIn: g.r * g.s * g.c, fanOut: g.r * g.s * g.k, &rng)
                c.bias.value.fill(0)
                c.kernel.version += 1
            } else if let d = l as? DepthwiseConv2DLayer {
                // Keras's fans for a (R,S,C,1) kernel: in = C·R·S, out = 1·R·S.
                let g = d.geometry
                glorot(d.kernel.value, fanIn: g.r * g.s * g.c, fanOut: g.r * g.s, &rng)
                d.bias.value.fill(0)
            } else if let d = l as? DenseLayer {
                glorot(d.kernel.value, fanIn: d.inputShape[0], fanOut: d.units, &rng)
                d.bias.value.fill(0)
            }
        }
    }

    static func glorot(_ t: Tensor, fanIn: Int, fanOut: Int, _ rng: inout SeededGenerator) {
        let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        t.fillUniform(&rng, low: -limit, high: limit)
    }
}
