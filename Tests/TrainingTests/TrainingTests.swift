import Datasets
import Kernels
import Layers
import Reports
import Tensor
import XCTest

@testable import Training

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let modelsDir = repoRoot.appendingPathComponent("Profiles/models")

final class ProfileTests: XCTestCase {
    /// Parameter counts as Keras' model.summary() reports them for the same models.
    static let kerasCounts: [String: Int] = [
        "basic-cnn": 421_642, "shallow-cnn": 105_866, "deep-cnn": 241_546, "wide-cnn": 1_682_954,
        "tiny-cnn": 26_698, "small-filters": 411_242, "large-filters": 454_922, "mixed-filters": 454_410,
        "fcnn": 269_322,
    ]

    /// keras.applications.X(include_top=False, input_shape=(224, 224, 3)).count_params() and the
    /// non-trainable part (batch-norm moving statistics).
    static let challengeCounts: [String: (Int, Int)] = ["resnet-mini": (77_866, 576), "inception-mini": (7_562, 0)]
    static let imagenetCounts: [String: (Int, Int)] = ["mobilenetv2": (2_257_984, 34_112), "vgg16": (14_714_688, 0)]

    func testEveryShippedProfileLoadsWithKerasParameterCounts() throws {
        let names = ModelProfile.available(in: modelsDir)
        XCTAssertEqual(
            Set(names), Set(Self.kerasCounts.keys).union(Self.imagenetCounts.keys).union(Self.challengeCounts.keys))
        // The optional challenges' ResNet and Inception (Concatenate) profiles, on 28x28x1.
        for (name, (total, nonTrainable)) in Self.challengeCounts {
            let m = try ModelBuilder.build(try ModelProfile.load(named: name, in: modelsDir), input: [28, 28, 1])
            XCTAssertEqual(m.parameterCount, total, name)
            XCTAssertEqual(m.nonTrainableParameterCount, nonTrainable, name)
            XCTAssertEqual(m.outputShape, [10], name)
            XCTAssertFalse(m.isChain, name)
        }
        for name in names where Self.imagenetCounts[name] != nil {
            let p = try ModelProfile.load(named: name, in: modelsDir)
            let base = try ModelBuilder.build(p, input: [224, 224, 3], includeHead: false)
            XCTAssertEqual(base.parameterCount, Self.imagenetCounts[name]!.0, name)
            XCTAssertEqual(base.nonTrainableParameterCount, Self.imagenetCounts[name]!.1, name)
            XCTAssertEqual(base.outputShape, [7, 7, name == "vgg16" ? 512 : 1280], name)
            // With the lab's transfer head on Fashion-MNIST (grey to RGB, resized to 32x32): GAP, Dense 256,
            // Dropout, Dense 10.
            let full = try ModelBuilder.build(p, input: [28, 28, 1], resizeTo: [32, 32, 3])
            let features = name == "vgg16" ? 512 : 1280
            XCTAssertEqual(full.parameterCount, Self.imagenetCounts[name]!.0 + features * 256 + 256 + 2570, name)
            XCTAssertEqual(Array(full.layers.prefix(2).map(\.kerasClass)), ["GrayscaleToRGB", "Resizing"], name)
            XCTAssertEqual(full.outputShape, [10])
        }
        for name in names where Self.imagenetCounts[name] == nil && Self.challengeCounts[name] == nil {
            let p = try ModelProfile.load(named: name, in: modelsDir)
            let m = try ModelBuilder.build(p, input: [28, 28, 1])
            XCTAssertEqual(m.parameterCount, Self.kerasCounts[name], name)
            XCTAssertEqual(m.nonTrainableParameterCount, 0, name)
            // CIFAR-shaped input builds too.
            XCTAssertNoThrow(try ModelBuilder.build(p, input: [32, 32, 3]), name)
        }
        // basic-cnn on CIFAR-10: 896 + 18,496 + 8·8·64·128 + 128 + 1,290.
        let basic = try ModelBuilder.build(
            try ModelProfile.load(named: "basic-cnn", in: modelsDir), input: [32, 32, 3])
        XCTAssertEqual(basic.parameterCount, 545_098)
    }

    func testBatchNormCountsNonTrainableParameters() throws {
        let p = try ModelProfile.parse("name: bn\nconv_blocks:\n  - {filters: 8}\nbatch_norm: true\n", file: "bn.yaml")
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        XCTAssertEqual(m.nonTrainableParameterCount, 16)  // moving mean and variance of 8 channels
        XCTAssertEqual(m.parameterCount, 80 + 32 + 14 * 14 * 8 * 10 + 10)
    }

    /// The lab's create_cnn_with_config: Conv2D(activation) then BatchNormalization, no separate
    /// activation layer; at inference the batch norm stays a layer (a ReLU lies between).
    func testBatchNormFollowsTheActivatedConvolutionAsTheLab() throws {
        let p = try ModelProfile.parse("name: bn\nconv_blocks:\n  - {filters: 8}\nbatch_norm: true\n", file: "bn.yaml")
        let m = try ModelBuilder.build(p, input: [28, 28, 1])
        XCTAssertEqual(m.layers.prefix(3).map(\.kerasClass), ["Conv2D", "BatchNormalization", "MaxPooling2D"])
        XCTAssertEqual((m.layers[0] as? Conv2DLayer)?.activation, .relu)
        XCTAssertFalse(m.layers.contains { $0 is ActivationLayer })
        m.foldBatchNormForInference(true)
        XCTAssertNil((m.layers[1] as? BatchNormLayer)?.foldedInto, "no fold across the ReLU")
    }

    /// The lab's settings: Dropout(0.3) after each hidden dense layer of every CNN.
    func testTheEightCNNsUseTheLabsDropout() throws {
        for name in [
            "basic-cnn", "shallow-cnn", "deep-cnn", "wide-cnn", "tiny-cnn", "small-filters", "large-filters",
            "mixed-filters",
        ] {
            let m = try ModelBuilder.build(try ModelProfile.load(named: name, in: modelsDir), input: [28, 28, 1])
            let rates = m.layers.compactMap { ($0 as? DropoutLayer)?.rate }
            XCTAssertFalse(rates.isEmpty, name)
            XCTAssertTrue(rates.allSatisfy { $0 == 0.3 }, "\(name): \(rates)")
        }
    }

    func testAccuracyPerMillionParametersIsTheLabsPercentFormula() {
        // test_accuracy * 100 / (total_params / 1e6): 99% with basic-cnn's 421,642 parameters.
        XCTAssertEqual(
            LabFormulas.accuracyPerMillionParameters(accuracy: 0.99, parameters: 421_642), 99 / 0.421642,
            accuracy: 1e-9)
    }

    func testBadProfilesNameFileKeyAndReason() {
        func err(_ text: String) -> String {
            do { _ = try ModelProfile.parse(text, file: "bad.yaml"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(err("name: x\nconv_blokcs: []\n").contains("bad.yaml: conv_blokcs: unknown key"))
        XCTAssertTrue(
            err("name: x\nconv_blocks:\n  - {filters: -3}\n").contains("conv_blocks[0].filters: must be at least 1"))
        XCTAssertTrue(err("name: x\ndense_units: [64, 0]\n").contains("dense_units"))
        XCTAssertTrue(err("name: x\ndropout_rate: 1.5\n").contains("dropout_rate"))
        XCTAssertTrue(err("name: x\nactivation: swish\n").contains("activation"))
        XCTAssertTrue(err("name: [unclosed\n").contains("not valid YAML"))
        XCTAssertTrue(
            err("name: x\nconv_blocks:\n  - {filters: 8, kernel_size: 3, colour: red}\n").contains(
                "conv_blocks[0].colour: unknown key"))
        // A pool that shrinks the map below 1x1 is caught when the model is built for an input.
        let deep = try! ModelProfile.parse(
            "name: d\nconv_blocks:\n  - {filters: 4}\n  - {filters: 4}\n  - {filters: 4}\n", file: "d.yaml")
        XCTAssertThrowsError(try ModelBuilder.build(deep, input: [4, 4, 1])) { e in
            XCTAssertTrue("\(e)".contains("pool_size") && "\(e)".contains("below 1x1"), "\(e)")
        }
        XCTAssertThrowsError(try ModelProfile.load(named: "no-such-model", in: modelsDir)) { e in
            XCTAssertTrue("\(e)".contains("unknown model 'no-such-model'") && "\(e)".contains("basic-cnn"), "\(e)")
        }
    }
}

final class LoaderTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func be32(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
    }

    func writeIDX(prefix: String, n: Int, labelsN: Int? = nil, magic: Int = 0x803, truncate: Int = 0) throws {
        var img = be32(magic) + be32(n) + be32(28) + be32(28)
        img += (0..<(n * 784)).map { UInt8($0 % 256) }
        img.removeLast(truncate)
        try Data(img).write(to: dir.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
        let ln = labelsN ?? n
        let lab = be32(0x801) + be32(ln) + (0..<ln).map { UInt8($0 % 10) }
        try Data(lab).write(to: dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    }

    func testIDXRawAndGzip() throws {
        try writeIDX(prefix: "train", n: 5)
        let ds = try IDXLoader.load(dir: dir.path, prefix: "train", name: "t", classNames: IDXLoader.digitClassNames)
        XCTAssertEqual(ds.images.shape.dims, [5, 28, 28, 1])
        XCTAssertEqual(ds.labels, [0, 1, 2, 3, 4])
        XCTAssertEqual(ds.images.data[785], Float(785 % 256) / 255, accuracy: 1e-6)
        // gzip the same files and load again
        for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-f", dir.appendingPathComponent(f).path]
            try p.run(); p.waitUntilExit()
        }
        let gz = try IDXLoader.load(dir: dir.path, prefix: "train", name: "t", classNames: IDXLoader.digitClassNames)
        XCTAssertEqual(gz.images.array, ds.images.array)
    }

    func testCorruptIDXFilesNameFileOffsetAndExpectation() throws {
        try writeIDX(prefix: "bad", n: 3, magic: 0x1234)
        XCTAssertThrowsError(try IDXLoader.loadImages(dir.appendingPathComponent("bad-images-idx3-ubyte").path)) { e in
            XCTAssertTrue("\(e)".contains("bad-images-idx3-ubyte: byte 0: magic number 0x1234, expected 0x803"), "\(e)")
        }
        try writeIDX(prefix: "short", n: 3, truncate: 100)
        XCTAssertThrowsError(try IDXLoader.loadImages(dir.appendingPathComponent("short-images-idx3-ubyte").path)) {
            e in
            XCTAssertTrue("\(e)".contains("truncated at byte \(16 + 3 * 784 - 100)"), "\(e)")
        }
        try writeIDX(prefix: "mismatch", n: 3, labelsN: 4)
        XCTAssertThrowsError(try IDXLoader.load(dir: dir.path, prefix: "mismatch", name: "m", classNames: [])) { e in
            XCTAssertTrue("\(e)".contains("do not belong together"), "\(e)")
        }
        let gzPath = dir.appendingPathComponent("broken-images-idx3-ubyte.gz")
        try Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).write(to: gzPath)
        XCTAssertThrowsError(try IDXLoader.loadImages(gzPath.path)) { e in
            XCTAssertTrue("\(e)".contains("broken-images-idx3-ubyte.gz"), "\(e)")
        }
        XCTAssertThrowsError(try IDXLoader.loadImages(dir.appendingPathComponent("missing").path)) { e in
            XCTAssertTrue("\(e)".contains("file not found"), "\(e)")
        }
    }

    func testCIFARBatchesAndCorruption() throws {
        var rec: [UInt8] = []
        for i in 0..<3 { rec.append(UInt8(i)); rec += (0..<3072).map { UInt8(($0 + i) % 256) } }
        let p = dir.appendingPathComponent("test_batch.bin")
        try Data(rec).write(to: p)
        let (t, labels) = try CIFAR10Loader.loadBatch(p.path)
        XCTAssertEqual(labels, [0, 1, 2])
        // pixel 0 of image 1: red = byte 1 of the red plane, green = plane 1024, blue = plane 2048
        XCTAssertEqual(t.data[3072 + 0], Float(1) / 255, accuracy: 1e-6)
        XCTAssertEqual(t.data[3072 + 1], Float((1024 + 1) % 256) / 255, accuracy: 1e-6)
        XCTAssertEqual(t.data[3072 + 2], Float((2048 + 1) % 256) / 255, accuracy: 1e-6)
        try Data(rec.dropLast(10)).write(to: p)
        XCTAssertThrowsError(try CIFAR10Loader.loadBatch(p.path)) { e in
            XCTAssertTrue("\(e)".contains("not a whole number of 3073-byte"), "\(e)")
        }
        rec[3073] = 42
        try Data(rec).write(to: p)
        XCTAssertThrowsError(try CIFAR10Loader.loadBatch(p.path)) { e in
            XCTAssertTrue("\(e)".contains("byte 3073: label 42"), "\(e)")
        }
    }
}

final class TrainingLoopTests: XCTestCase {
    static let fashion = "/usr/share/datasets/fashion-mnist"

    func testShortTrainingOnRealDataLearns() throws {
        guard FileManager.default.fileExists(atPath: Self.fashion + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST not installed (Scripts/setup installs dataset-fashion-mnist)")
        }
        let all = try IDXLoader.load(
            dir: Self.fashion, prefix: "train", name: "fashion-mnist", classNames: IDXLoader.fashionClassNames)
        let train = all.prefix(3000), test = all.slice(50_000..<51_000)
        let p = try ModelProfile.load(named: "tiny-cnn", in: modelsDir)
        let model = try ModelBuilder.build(p, input: [28, 28, 1], seed: 7)
        let trainer = Trainer(model: model, optimizer: Adam(learningRate: 3e-3), runner: SerialRunner(), seed: 7)
        let before = trainer.evaluate(test, batchSize: 100)
        let history = trainer.fit(train: train, validation: nil, config: TrainConfig(epochs: 2, batchSize: 32, seed: 7))
        let after = trainer.evaluate(test, batchSize: 100)
        print(
            "tiny-cnn on 3,000 images: loss \(before.loss) -> \(after.loss), "
                + "accuracy \(before.accuracy) -> \(after.accuracy)"
        )
        XCTAssertLessThan(history.last!.loss, history.first!.loss + 1e-9)
        XCTAssertLessThan(after.loss, before.loss * 0.6)
        XCTAssertGreaterThan(after.accuracy, 0.6, "chance is 0.1")
    }

    func testEarlyStoppingRestoresBestWeights() throws {
        let ds = Dataset.synthetic(count: 200, shape: [8, 8, 1], seed: 3)  // random labels: val accuracy wanders
        let p = try ModelProfile.parse("name: s\nconv_blocks:\n  - {filters: 4}\ndense_units: [8]\n", file: "s.yaml")
        let model = try ModelBuilder.build(p, input: [8, 8, 1])
        let trainer = Trainer(model: model, optimizer: Adam(), runner: SerialRunner())
        let (tr, va) = ds.split(validation: 50)
        let h = trainer.fit(train: tr, validation: va, config: TrainConfig(epochs: 30, batchSize: 16, patience: 2))
        let accs = h.compactMap(\.valAccuracy)
        XCTAssertEqual(accs.count, h.count)
        let bestAcc = accs.max()!
        if trainer.stoppedEarly {
            // Stops `patience` epochs after the first best epoch (an equal accuracy is no improvement).
            XCTAssertLessThan(h.count, 30)
            XCTAssertEqual(accs.firstIndex(of: bestAcc), h.count - 1 - 2, "\(accs)")
        } else {
            XCTAssertEqual(h.count, 30)
        }
        XCTAssertEqual(
            trainer.evaluate(va, batchSize: 16).accuracy, bestAcc, accuracy: 1e-9, "weights of the best epoch restored")
    }

    func testSaveThenLoadGivesIdenticalPredictions() throws {
        let p = try ModelProfile.load(named: "basic-cnn", in: modelsDir)
        let a = try ModelBuilder.build(p, input: [28, 28, 1], seed: 1)
        let b = try ModelBuilder.build(p, input: [28, 28, 1], seed: 2)
        let data = try WeightFile.encode(a)
        try WeightFile.load(data, into: b, file: "a.cnnw")
        let ds = Dataset.synthetic(count: 20, shape: [28, 28, 1], seed: 5)
        let pa = Trainer(model: a, optimizer: Adam(), runner: SerialRunner()).predict(ds, batchSize: 8)
        let pb = Trainer(model: b, optimizer: Adam(), runner: SerialRunner()).predict(ds, batchSize: 8)
        XCTAssertEqual(pa.predictions, pb.predictions)
        XCTAssertEqual(pa.loss, pb.loss)
        // A file for another model is refused with the tensor named.
        let other = try ModelBuilder.build(try ModelProfile.load(named: "tiny-cnn", in: modelsDir), input: [28, 28, 1])
        XCTAssertThrowsError(try WeightFile.load(data, into: other, file: "a.cnnw")) { e in
            XCTAssertTrue("\(e)".contains("a.cnnw"), "\(e)")
        }
        XCTAssertThrowsError(try WeightFile.load(data.prefix(100), into: b, file: "cut.cnnw")) { e in
            XCTAssertTrue("\(e)".contains("cut.cnnw"), "\(e)")
        }
    }

    func testAugmentationShiftsWithZeroFillAndFlips() throws {
        let x = try Tensor([64, 5, 5, 1])
        for b in 0..<64 { for i in 0..<25 { x.data[b * 25 + i] = Float(i + 1) } }
        var rng = SeededGenerator(seed: 1)
        Augmentation.apply(x, maxShift: 2, flips: false, rng: &rng)
        var changed = 0
        for b in 0..<64 {
            let img = Array(UnsafeBufferPointer(start: x.data + b * 25, count: 25))
            if img != (1...25).map(Float.init) { changed += 1 }
            // A shift keeps the values as a subset of the original pixels, plus zeros.
            XCTAssertTrue(img.allSatisfy { $0 == 0 || (1...25).contains(Int($0)) })
            XCTAssertEqual(img.filter { $0 != 0 }.count, Set(img.filter { $0 != 0 }).count, "no pixel duplicated")
        }
        XCTAssertGreaterThan(changed, 40, "most images moved")
        // A pure flip (no shift) mirrors each row.
        let y = try Tensor([1, 2, 3, 3])
        for i in 0..<18 { y.data[i] = Float(i) }
        var r2 = SeededGenerator(seed: 0)
        var flipped = false
        for _ in 0..<50 where !flipped {
            let t = y.copy()
            Augmentation.apply(t, maxShift: 0, flips: true, rng: &r2)
            if t.array != y.array {
                XCTAssertEqual(Array(t.array[0..<3]), Array(y.array[6..<9]), "pixel 0 takes pixel 2 of the row")
                flipped = true
            }
        }
        XCTAssertTrue(flipped)
    }

    func testTrainingIsRepeatableFromTheSeed() throws {
        func run() throws -> Double {
            let ds = Dataset.synthetic(count: 64, shape: [8, 8, 1], seed: 3)
            let p = try ModelProfile.parse(
                "name: s\nconv_blocks:\n  - {filters: 4}\ndense_units: [8]\ndropout_rate: 0.3\n", file: "s.yaml")
            let model = try ModelBuilder.build(p, input: [8, 8, 1], seed: 11)
            let t = Trainer(model: model, optimizer: Adam(), runner: SerialRunner(), seed: 11)
            return t.fit(train: ds, validation: nil, config: TrainConfig(epochs: 2, batchSize: 16, seed: 11)).last!.loss
        }
        XCTAssertEqual(try run(), try run())
    }
}

/// The optional challenges' data sets, read from files in their binary formats.
final class ChallengeDatasetTests: XCTestCase {
    func folder() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-ds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func testCIFAR100ReadsFineLabelsAndNames() throws {
        let d = try folder()
        var bytes: [UInt8] = []
        for i in 0..<4 {
            bytes += [UInt8(i % 20), UInt8(97 + i % 3)]  // coarse, fine
            for k in 0..<3072 { bytes.append(UInt8((k / 1024) * 100 + i)) }  // channel-planar
        }
        try Data(bytes).write(to: d.appendingPathComponent("train.bin"))
        try Data(bytes.prefix(3074)).write(to: d.appendingPathComponent("test.bin"))
        try (0..<100).map { "name\($0)" }.joined(separator: "\n").write(
            to: d.appendingPathComponent("fine_label_names.txt"), atomically: true, encoding: .utf8)
        let train = try CIFAR100Loader.load(dir: d.path, train: true)
        XCTAssertEqual(train.count, 4)
        XCTAssertEqual(train.labels, [97, 98, 99, 97])
        XCTAssertEqual(train.classNames.count, 100)
        XCTAssertEqual(train.classNames[97], "name97")
        // Pixel 0 of image 1: red 1, green 101, blue 201 (over 255).
        XCTAssertEqual(train.images.data[3072 + 1], Float(101) / 255, accuracy: 1e-6)
        try Data(bytes.prefix(3000)).write(to: d.appendingPathComponent("test.bin"))
        XCTAssertThrowsError(try CIFAR100Loader.load(dir: d.path, train: false)) {
            XCTAssertTrue("\($0)".contains("test.bin") && "\($0)".contains("3074-byte"), "\($0)")
        }
    }

    func testSTL10ReadsColumnMajorChannelsAndOneBasedLabels() throws {
        let d = try folder()
        var x: [UInt8] = []
        for _ in 0..<2 {
            for c in 0..<3 {
                for col in 0..<96 { for row in 0..<96 { x.append(UInt8((row + 2 * col + 50 * c) % 256)) } }
            }
        }
        try Data(x).write(to: d.appendingPathComponent("train_X.bin"))
        try Data([3, 10]).write(to: d.appendingPathComponent("train_y.bin"))
        let ds = try STL10Loader.load(dir: d.path, train: true)
        XCTAssertEqual(ds.imageShape, [96, 96, 3])
        XCTAssertEqual(ds.labels, [2, 9])
        // NHWC pixel (row 5, col 7, channel 1) = (5 + 14 + 50) / 255.
        XCTAssertEqual(ds.images.data[(5 * 96 + 7) * 3 + 1], Float(69) / 255, accuracy: 1e-6)
        try Data([3]).write(to: d.appendingPathComponent("train_y.bin"))
        XCTAssertThrowsError(try STL10Loader.load(dir: d.path, train: true)) {
            XCTAssertTrue("\($0)".contains("train_y.bin"), "\($0)")
        }
    }
}

/// Rotation for the augmentation extension: exact at the angles whose samples land on pixels.
final class AugmentationRotationTests: XCTestCase {
    func image(_ h: Int, _ w: Int, _ c: Int) -> [Float] { (0..<(h * w * c)).map { Float($0 % 97) / 97 } }

    func testZeroAngleIsTheIdentityAnd180IsAPointReflection() {
        let (h, w, c) = (5, 7, 2)
        let src = image(h, w, c)
        var out = [Float](repeating: -1, count: src.count)
        Augmentation.transform(
            from: src, into: &out, height: h, width: w, channels: c, degrees: 0, dy: 0, dx: 0, flip: false)
        XCTAssertEqual(out, src)
        Augmentation.transform(
            from: src, into: &out, height: h, width: w, channels: c, degrees: 180, dy: 0, dx: 0, flip: false)
        for y in 0..<h {
            for x in 0..<w {
                for k in 0..<c {
                    XCTAssertEqual(
                        out[(y * w + x) * c + k], src[((h - 1 - y) * w + (w - 1 - x)) * c + k], accuracy: 1e-5)
                }
            }
        }
    }

    func testNinetyDegreesTurnsASquareAndShiftsFillWithZeros() {
        let n = 5
        let src = image(n, n, 1)
        var out = [Float](repeating: -1, count: src.count)
        Augmentation.transform(
            from: src, into: &out, height: n, width: n, channels: 1, degrees: 90, dy: 0, dx: 0, flip: false)
        // out(y, x) = in(cy + (-(x - cx)), cx + (y - cy)) = in(n - 1 - x, y).
        for y in 0..<n { for x in 0..<n { XCTAssertEqual(out[y * n + x], src[(n - 1 - x) * n + y], accuracy: 1e-5) } }
        Augmentation.transform(
            from: src, into: &out, height: n, width: n, channels: 1, degrees: 0, dy: 2, dx: 0, flip: false)
        XCTAssertEqual(Array(out[0..<(2 * n)]), [Float](repeating: 0, count: 2 * n), "rows shifted in are zeros")
        XCTAssertEqual(Array(out[(2 * n)...]), Array(src[0..<(3 * n)]))
    }

    func testTrainingAugmentationRotatesWithinTheLimit() throws {
        let x = try Tensor([8, 9, 9, 1])
        for i in 0..<x.count { x.data[i] = Float(i % 81) / 81 }
        let before = x.array
        var rng = SeededGenerator(seed: 3)
        Augmentation.apply(x, maxShift: 0, flips: false, maxRotationDegrees: 10, rng: &rng)
        XCTAssertNotEqual(x.array, before, "some image rotated")
        // Centre pixels move little under a rotation of at most 10 degrees.
        for b in 0..<8 { XCTAssertEqual(x.data[b * 81 + 40], before[b * 81 + 40], accuracy: 1e-4) }
    }
}
