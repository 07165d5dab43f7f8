import Datasets
import KerasWeights
import Kernels
import Layers
import Tensor
import XCTest

@testable import Training

/// A small graph base with a residual Add and a head, in the profile format.
let tinyBaseYAML = """
    name: tiny-base
    input_shape: [12, 12, 3]
    layers:
      - {name: stem, type: Conv2D, filters: 8, kernel_size: 3, strides: 2, padding: same, use_bias: false}
      - {name: stem_bn, type: BatchNormalization, epsilon: 0.001, momentum: 0.999}
      - {name: stem_relu, type: ReLU, max_value: 6}
      - {name: b_dw, type: DepthwiseConv2D, kernel_size: 3, strides: 1, padding: same, use_bias: false}
      - {name: b_pad2, type: ZeroPadding2D, padding: [1, 1]}
      - {name: b_dw2, type: DepthwiseConv2D, kernel_size: 3, padding: valid}
      - {name: b_project, type: Conv2D, filters: 8, kernel_size: 1, use_bias: false}
      - {name: b_add, type: Add, inputs: [stem_relu, b_project]}
      - {name: d_pad, type: ZeroPadding2D, padding: correct}
      - {name: d_dw, type: DepthwiseConv2D, kernel_size: 3, strides: 2, padding: valid, use_bias: false}
      - {name: top_conv, type: Conv2D, filters: 16, kernel_size: 1}
    head:
      - {name: gap, type: GlobalAveragePooling2D}
      - {name: dense, type: Dense, units: 12, activation: relu}
      - {name: dropout, type: Dropout, rate: 0.3}
      - {name: dense_1, type: Dense, units: 0, activation: softmax}
    """

final class GraphProfileTests: XCTestCase {
    func testGraphProfileBuildsWithAdaptersAndHead() throws {
        let p = try ModelProfile.parse(tinyBaseYAML, file: "tiny.yaml")
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        XCTAssertEqual(m.layers.map(\.name).prefix(3), ["grey_to_rgb", "resize", "stem"])
        XCTAssertEqual(m.outputShape, [10])
        let add = try XCTUnwrap(m.layers.firstIndex { $0.name == "b_add" })
        XCTAssertEqual(m.inputs[add].map { m.layers[$0].name }, ["stem_relu", "b_project"])
        // Base only: Keras's include_top=False.
        let base = try ModelBuilder.build(p, input: [12, 12, 3], includeHead: false)
        XCTAssertEqual(base.outputShape, [3, 3, 16])
        XCTAssertEqual(base.parameterCount, 216 + 32 + 72 + 72 + 8 + 64 + 72 + 144)
        let pad = try XCTUnwrap(base.layers.first { $0.name == "d_pad" } as? ZeroPadding2DLayer)
        XCTAssertEqual(
            [pad.top, pad.bottom, pad.left, pad.right], [0, 1, 0, 1], "Keras correct_pad on an even 6x6 map")
    }

    /// `input` names the adapted images when grey-to-RGB and resize come first.
    func testInputMeansTheAdaptedImages() throws {
        let p = try ModelProfile.parse(
            """
            name: skip
            input_shape: [8, 8, 3]
            layers:
              - {name: a, type: Conv2D, filters: 3, kernel_size: 3, padding: same}
              - {name: sum, type: Add, inputs: [input, a]}
            """, file: "skip.yaml")
        let m = try ModelBuilder.build(p, input: [6, 6, 1], includeHead: false)
        XCTAssertEqual(m.layers.map(\.name), ["grey_to_rgb", "resize", "a", "sum"])
        XCTAssertEqual(m.inputs[3], [1, 2])
        XCTAssertEqual(m.outputShape, [8, 8, 3])
    }

    func testBadGraphProfilesNameTheLayerAndKey() {
        func err(_ layers: String) -> String {
            do { _ = try ModelProfile.parse("name: g\nlayers:\n" + layers, file: "g.yaml"); return "no error" } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(
            err("  - {name: a, type: Conv3D}\n").contains("g.yaml: layers[0] (a).type: unknown layer type 'Conv3D'"))
        XCTAssertTrue(err("  - {name: a, type: Conv2D}\n").contains("layers[0] (a).filters: missing"))
        XCTAssertTrue(
            err("  - {name: a, type: ReLU}\n  - {name: a, type: ReLU}\n").contains(
                "layers[1].name: the name 'a' is used twice"))
        XCTAssertTrue(
            err("  - {name: a, type: Add, inputs: [x, input]}\n").contains("'x' is not a layer defined above 'a'"))
        XCTAssertTrue(err("  - {name: a, type: ReLU, max_value: 3}\n").contains("max_value"))
        XCTAssertTrue(
            err("  - {name: a, type: Conv2D, filters: 4, colour: red}\n").contains("layers[0].colour: unknown key"))
        // Shapes that do not agree are found when the model is built, with the file and layer.
        let bad = try! ModelProfile.parse(
            "name: g\nlayers:\n  - {name: a, type: Conv2D, filters: 4}\n"
                + "  - {name: b, type: Conv2D, filters: 5, inputs: [input]}\n"
                + "  - {name: s, type: Add, inputs: [a, b]}\n",
            file: "g.yaml")
        XCTAssertThrowsError(try ModelBuilder.build(bad, input: [8, 8, 3])) {
            XCTAssertTrue("\($0)".contains("g.yaml"), "\($0)")
        }
    }

    func testFreezingAsKerasCountsIt() throws {
        let p = try ModelProfile.parse(tinyBaseYAML, file: "tiny.yaml")
        let m = try ModelBuilder.build(p, input: [12, 12, 3])
        let baseNames = p.layers.map(\.name)
        Freezing.apply(m, base: baseNames, unfreezeTop: 0)
        XCTAssertEqual(m.trainableParameterCount, 16 * 12 + 12 + 12 * 10 + 10)
        // Top 3 of the base: d_pad, d_dw, top_conv.
        Freezing.apply(m, base: baseNames, unfreezeTop: 3)
        XCTAssertEqual(m.trainableParameterCount, 16 * 12 + 12 + 12 * 10 + 10 + 72 + 8 * 16 + 16)
        // A training step changes no frozen value, including batch-norm statistics.
        let frozen = m.layers.filter { !$0.trainable }.flatMap(\.parameters)
        let before = frozen.map { $0.value.array }
        let data = Dataset.synthetic(count: 16, shape: [12, 12, 3], seed: 3)
        let trainer = Trainer(model: m, optimizer: Adam(), runner: SerialRunner())
        _ = trainer.fit(train: data, validation: nil, config: TrainConfig(epochs: 1, batchSize: 8))
        XCTAssertEqual(frozen.map { $0.value.array }, before)
        let top = try XCTUnwrap(m.layers.first { $0.name == "top_conv" } as? Conv2DLayer)
        XCTAssertGreaterThan(top.kernel.version, 1, "the unfrozen top layer trains")
    }

    func testKerasHDF5RoundTripGivesIdenticalPredictions() throws {
        let p = try ModelProfile.parse(tinyBaseYAML, file: "tiny.yaml")
        let a = try ModelBuilder.build(p, input: [12, 12, 3], seed: 1)
        let b = try ModelBuilder.build(p, input: [12, 12, 3], seed: 2)
        // Non-default batch-norm statistics, so they must travel too.
        for l in a.layers {
            if let bn = l as? BatchNormLayer { bn.movingMean.value.fill(0.3); bn.movingVariance.value.fill(2) }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-\(UUID().uuidString).h5")
            .path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try KerasWeightImporter.save(a, to: file)
        let s = try KerasWeightImporter.load(file, into: b)
        XCTAssertEqual(s.parameters, a.parameterCount)
        let x = Dataset.synthetic(count: 4, shape: [12, 12, 3], seed: 5).images
        let ctx = RunContext(runner: SerialRunner())
        XCTAssertEqual(a.forward(x, ctx).array, b.forward(x, ctx).array)
    }

    func testKerasImportErrorsNameFileLayerAndShapes() throws {
        let p = try ModelProfile.parse(tinyBaseYAML, file: "tiny.yaml")
        let dir = FileManager.default.temporaryDirectory
        let file = dir.appendingPathComponent("cnnscope-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        // A file written as Keras writes one: layer_names, weight_names, datasets by path.
        let h5 = try HDF5File(creating: file)
        try h5.writeStrings(["stem", "stem_relu"], attribute: "layer_names")
        try h5.writeStrings(["stem/kernel:0"], attribute: "weight_names", of: "/stem")
        try h5.writeStrings([], attribute: "weight_names", of: "/stem_relu")
        try h5.write([Float](repeating: 0.5, count: 3 * 3 * 3 * 4), dims: [3, 3, 3, 4], to: "/stem/stem/kernel:0")
        _ = h5
        let m = try ModelBuilder.build(p, input: [12, 12, 3])
        XCTAssertThrowsError(try KerasWeightImporter.load(file, into: m, required: ["stem"])) {
            XCTAssertTrue(
                "\($0)".contains(
                    "\(file): layer 'stem' weight 'stem/kernel:0' has shape [3, 3, 3, 4], "
                        + "the model expects [3, 3, 3, 8]"
                ), "\($0)")
        }
        XCTAssertThrowsError(try KerasWeightImporter.load(file, into: m)) {
            XCTAssertTrue("\($0)".contains("layer 'stem'"), "\($0)")
        }
        let notH5 = dir.appendingPathComponent("cnnscope-\(UUID().uuidString).h5").path
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: notH5))
        defer { try? FileManager.default.removeItem(atPath: notH5) }
        XCTAssertThrowsError(try KerasWeightImporter.load(notH5, into: m)) {
            XCTAssertTrue("\($0)".contains("not an HDF5 file"), "\($0)")
        }
    }

    func testMissingLayerInWeightFileIsNamed() throws {
        let p = try ModelProfile.parse(tinyBaseYAML, file: "tiny.yaml")
        let a = try ModelBuilder.build(p, input: [12, 12, 3], includeHead: false)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-\(UUID().uuidString).h5")
            .path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try KerasWeightImporter.save(a, to: file)
        // The file has the base only: the head may be missing, a base layer may not.
        let full = try ModelBuilder.build(p, input: [12, 12, 3])
        let s = try KerasWeightImporter.load(file, into: full, required: Set(p.layers.map(\.name)))
        XCTAssertEqual(Set(s.notInFile), ["dense", "dense_1"])
        XCTAssertThrowsError(try KerasWeightImporter.load(file, into: full)) {
            XCTAssertTrue("\($0)".contains("no weights for layer 'dense'"), "\($0)")
        }
    }
}

final class InferenceFoldTests: XCTestCase {
    /// Batch norm and ReLU6 folded into the convolutions, and zero padding into the depthwise
    /// convolutions after it (symmetric stride 1, and Keras's `correct` padding at stride 2), give
    /// the layer-by-layer result, on every algorithm (Winograd caches its filters by version: the
    /// folded weights get their own).
    func testFoldedInferenceEqualsLayerByLayer() throws {
        let yaml = tinyBaseYAML.replacingOccurrences(
            of: "  - {name: b_dw, type: DepthwiseConv2D, kernel_size: 3, strides: 1, padding: same, use_bias: false}",
            with:
                "  - {name: b_c3, type: Conv2D, filters: 8, kernel_size: 3, padding: same}\n"
                + "  - {name: b_c3_bn, type: BatchNormalization}\n  - {name: b_c3_relu, type: ReLU}\n"
                + "  - {name: b_dw, type: DepthwiseConv2D, kernel_size: 3, strides: 1, padding: same, "
                + "use_bias: false}\n"
                + "  - {name: b_dw_bn, type: BatchNormalization}\n  - {name: b_dw_relu, type: ReLU, max_value: 6}"
        )
        let p = try ModelProfile.parse(yaml, file: "fold.yaml")
        for kind in [ConvAlgorithmKind.im2col, .winogradF4, .naive] {
            let m = try ModelBuilder.build(p, input: [12, 12, 3], policy: .fixed(kind), includeHead: false)
            var rng = SeededGenerator(seed: 8)
            for l in m.layers {
                if let bn = l as? BatchNormLayer {
                    bn.gamma.value.fillUniform(&rng, low: 0.5, high: 1.5);
                    bn.beta.value.fillUniform(&rng, low: -0.2, high: 0.2)
                    bn.movingMean.value.fillUniform(&rng, low: -0.3, high: 0.3);
                    bn.movingVariance.value.fillUniform(&rng, low: 0.5, high: 2)
                    for q in bn.parameters { q.version += 1 }
                }
            }
            let folded = m.layers.compactMap { ($0 as? FoldableIntoConvolution)?.foldedInto }
            XCTAssertEqual(
                folded, ["stem", "stem", "b_c3", "b_c3", "b_dw", "b_dw", "b_dw2", "d_dw"],
                "each batch norm and ReLU folds into the convolution before it, each zero padding into the "
                    + "depthwise convolution after it")
            let x = Dataset.synthetic(count: 3, shape: [12, 12, 3], seed: 5).images
            let ctx = RunContext(runner: SerialRunner())
            let a = m.forward(x, ctx).array
            m.foldBatchNormForInference(false)
            let b = m.forward(x, ctx).array
            for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v)), "\(kind)") }
            // Weights change (a training step): the fold follows.
            m.foldBatchNormForInference(true)
            let conv = m.layers.first { $0.name == "b_c3" } as! Conv2DLayer
            conv.kernel.value.data[0] += 0.5; conv.kernel.version += 1
            let c = m.forward(x, ctx).array
            m.foldBatchNormForInference(false)
            let d = m.forward(x, ctx).array
            for (u, v) in zip(c, d) {
                XCTAssertEqual(u, v, accuracy: 1e-4 * max(1, abs(v)), "\(kind) after a weight change")
            }
        }
    }
}

final class ExtensionTests: XCTestCase {
    /// A GAP model: Grad-CAM's map equals the class activation map Σ_k w[k,c]·A_k / (P·Q).
    func testGradCAMOnAGlobalAveragePoolingModelIsTheClassActivationMap() throws {
        let p = try ModelProfile.parse(
            """
            name: cam
            layers:
              - {name: conv, type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: relu}
              - {name: gap, type: GlobalAveragePooling2D}
              - {name: out, type: Dense, units: 3}
            """, file: "cam.yaml")
        let m = try ModelBuilder.build(p, input: [6, 6, 1], seed: 3)
        let x = Dataset.synthetic(count: 2, shape: [6, 6, 1], seed: 1).images
        let maps = try GradCAM.maps(m, images: x, classes: [2, 0], runner: SerialRunner())
        let conv = m.layers[0] as! Conv2DLayer, dense = m.layers[2] as! DenseLayer
        _ = m.forward(x, RunContext(runner: SerialRunner()))
        let a = conv.lastOutput!
        for (i, map) in maps.enumerated() {
            let c = [2, 0][i]
            for pq in 0..<36 {
                var cam: Float = 0
                for k in 0..<4 { cam += dense.kernel.value.data[k * 3 + c] * a.data[(i * 36 + pq) * 4 + k] / 36 }
                XCTAssertEqual(map.raw[pq], cam, accuracy: 1e-5)
            }
            XCTAssertEqual(map.heatmap.count, 36)
            XCTAssertTrue(map.heatmap.allSatisfy { $0 >= 0 && $0 <= 1.0001 })
            XCTAssertEqual(map.layer, "conv")
        }
    }

    /// Int8 post-training quantisation of a trained model keeps its accuracy (real data).
    func testInt8QuantisationKeepsAccuracy() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST not installed")
        }
        let train = try IDXLoader.load(
            dir: dir, prefix: "train", name: "fashion-mnist", classNames: IDXLoader.fashionClassNames
        ).prefix(2000)
        let test = try IDXLoader.load(
            dir: dir, prefix: "t10k", name: "fashion-mnist", classNames: IDXLoader.fashionClassNames
        ).prefix(500)
        let m = try ModelBuilder.build(try ModelProfile.load(named: "tiny-cnn", in: modelsDir), input: [28, 28, 1])
        let t = Trainer(model: m, optimizer: Adam(), runner: SerialRunner())
        _ = t.fit(train: train, validation: nil, config: TrainConfig(epochs: 1, batchSize: 32))
        let (fp, _, facc) = t.predict(test, batchSize: 64)
        let q = try PostTrainingQuantization.quantize(
            m, calibration: train, runner: SerialRunner(), options: .init(layers: .every))
        XCTAssertEqual(q.quantizedLayers.count, m.layers.filter { $0 is Conv2DLayer || $0 is DenseLayer }.count)
        XCTAssertEqual(q.floatLayers, [])
        XCTAssertTrue(q.choices.allSatisfy { $0.int8 && $0.floatSeconds == nil && $0.int8Seconds == nil })
        XCTAssertEqual(q.int8WeightBytes * 4, q.floatWeightBytes)
        let (qp, _, qacc) = Trainer(model: q.model, optimizer: Adam(), runner: SerialRunner()).predict(
            test, batchSize: 64)
        XCTAssertGreaterThan(facc, 0.6)
        XCTAssertLessThanOrEqual(abs(qacc - facc), 0.03, "int8 \(qacc) vs float \(facc)")
        XCTAssertGreaterThan(Double(zip(fp, qp).filter { $0 == $1 }.count) / Double(fp.count), 0.95)
        // The float model is unchanged by quantisation.
        XCTAssertEqual(t.predict(test, batchSize: 64).predictions, fp)

        // Where faster (the default): every quantisable layer timed both ways, int8 exactly where it
        // measured faster, and the model runs what the choices say.
        let mixed = try PostTrainingQuantization.quantize(m, calibration: train, runner: SerialRunner())
        XCTAssertEqual(mixed.choices.map(\.layer), q.quantizedLayers)
        for c in mixed.choices {
            let (f, i) = (try XCTUnwrap(c.floatSeconds), try XCTUnwrap(c.int8Seconds))
            XCTAssertTrue(f > 0 && i > 0, "\(c)")
            XCTAssertEqual(c.int8, i < f, "\(c)")
            let layer = try XCTUnwrap(mixed.model.layers.first { $0.name == c.layer })
            XCTAssertEqual(layer is Int8Layer, c.int8, "\(c.layer)")
            // The fastest eligible int8 form is the one named, and the one the model runs; a convolution
            // the direct kernel fits is timed direct and lowered on the model's ISA, and under AVX-512
            // on the AVX2 direct kernel as well; a 3x3 stride-1 one on integer Winograd too, and on
            // VNNI on the 8-bit transform domain, eligible only within 3x the exact forms' error.
            let byKernel = try XCTUnwrap(c.int8SecondsByKernel)
            let errors = try XCTUnwrap(c.int8ErrorByKernel), rejected = Set(c.int8RejectedKernels ?? [])
            XCTAssertEqual(Set(errors.keys), Set(byKernel.keys), "\(c)")
            XCTAssertEqual(byKernel[try XCTUnwrap(c.int8Kernel)], i, "\(c)")
            XCTAssertEqual(byKernel.filter { !rejected.contains($0.key) }.values.min(), i, "\(c)")
            let exact = errors.filter { !$0.key.hasSuffix("winograd-u8") }.values.min() ?? 0
            for (kernel, e) in errors {
                XCTAssertTrue(e.isFinite && e >= 0 && e < 0.05, "\(kernel): error \(e)")
                XCTAssertEqual(rejected.contains(kernel), kernel.hasSuffix("winograd-u8") && e > 3 * exact, kernel)
            }
            if let il = layer as? Int8Layer { XCTAssertEqual(il.kernel.kernelName, c.int8Kernel) }
            if let conv = m.layers.first(where: { $0.name == c.layer }) as? Conv2DLayer {
                let isa = Int8Conv2D.gemmISA(cap: conv.options.isa)
                var forms: Set<String> = [isa + (Int8Conv2D.directFits(conv.geometry) ? " direct" : " lowered")]
                if Int8Conv2D.directFits(conv.geometry) {
                    forms.insert(isa + " lowered")
                    if isa.hasPrefix("avx512") { forms.insert("avx2 direct") }
                }
                if Int8Conv2D.winogradFits(conv.geometry) {
                    forms.insert((isa == "scalar" || isa == "avx512-vnni" ? isa : "avx2") + " winograd")
                }
                if Int8Conv2D.winogradU8Fits(conv.geometry) && isa == "avx512-vnni" {
                    forms.insert(isa + " winograd-u8")
                }
                XCTAssertEqual(Set(byKernel.keys), forms, "\(c)")
            }
            XCTAssertEqual(mixed.quantizedLayers.contains(c.layer), c.int8)
            XCTAssertEqual(mixed.floatLayers.contains(c.layer), !c.int8)
        }
        let (mp, _, macc) = Trainer(model: mixed.model, optimizer: Adam(), runner: SerialRunner()).predict(
            test, batchSize: 64)
        XCTAssertLessThanOrEqual(abs(macc - facc), 0.03, "mixed int8 \(macc) vs float \(facc)")
        XCTAssertGreaterThan(Double(zip(fp, mp).filter { $0 == $1 }.count) / Double(fp.count), 0.95)
        XCTAssertEqual(t.predict(test, batchSize: 64).predictions, fp)
        // A factor of 0 leaves the rounded forms out: only exact ones are timed.
        let exactOnly = try PostTrainingQuantization.quantize(
            m, calibration: train, runner: SerialRunner(), options: .init(roundedFormErrorFactor: 0))
        for c in exactOnly.choices {
            XCTAssertFalse((c.int8SecondsByKernel ?? [:]).keys.contains { $0.hasSuffix("winograd-u8") }, "\(c)")
        }
    }

    /// A model without convolutions (the FCNN) quantises its Dense layers under the ISA cap of its
    /// own options (`--isa`), not the machine's best.
    func testInt8DenseLayersFollowTheModelsISACap() throws {
        var rng = SeededGenerator(seed: 5)
        let images = try Tensor([64, 28, 28, 1])
        images.fillUniform(&rng, low: 0, high: 1)
        let calibration = Dataset(
            name: "random", images: images, labels: (0..<64).map { Int32($0 % 10) }, classNames: [])
        for cap in ConvOptions.availableISAs {
            let m = try ModelBuilder.build(
                try ModelProfile.load(named: "fcnn", in: modelsDir), input: [28, 28, 1],
                options: ConvOptions(isa: cap))
            let q = try PostTrainingQuantization.quantize(
                m, calibration: calibration, runner: SerialRunner(), options: .init(layers: .every))
            let kernels = q.model.layers.compactMap { ($0 as? Int8Layer)?.kernel.gemmISA }
            XCTAssertFalse(kernels.isEmpty, "--isa \(cap): no Dense layer quantised")
            for k in kernels { XCTAssertEqual(k, Int8Conv2D.gemmISA(cap: cap), "--isa \(cap)") }
        }
    }
}
