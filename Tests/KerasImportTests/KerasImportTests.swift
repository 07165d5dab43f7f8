import Datasets
import Foundation
import KerasWeights
import Kernels
import Layers
import Profiling
import Tensor
import Training
import XCTest

@testable import KerasImport

/// The committed Keras 3 fixtures (Scripts/keras/make_fixtures.py, TensorFlow 2.21) against the
/// probabilities Keras predicted, and the archives the importer must refuse with one clear error.
final class KerasImportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/keras").standardized.path

    func path(_ name: String) -> String { "\(Self.fixtures)/\(name)" }

    func outputs(_ profile: ModelProfile, _ name: String, _ kind: ConvAlgorithmKind, isa: String? = nil) throws
        -> NpyArray
    {
        var options = ConvOptions()
        if let isa { options.isa = isa }
        let (images, _) = try InferenceInput.read(path("\(name)-inputs.npy"), layout: .nhwc, modelInput: [])
        return try ModelInference(runner: SerialRunner(), policy: .fixed(kind), options: options)
            .run(profile, images: images, batchSize: 3)
    }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let imported = try KerasModelImport.load(path: path("\(name).keras"))
        XCTAssertTrue(imported.profile.outputsProbabilities, "the final softmax is applied", file: file, line: line)
        XCTAssertEqual(imported.kerasVersion, "3.15.1", file: file, line: line)
        let expected = try NpyArray.read(path("\(name)-probabilities.npy"))
        for (kind, isa) in [(ConvAlgorithmKind.im2col, nil), (.naive, nil), (.winogradF4, nil), (.im2col, "scalar")] {
            let out = try outputs(imported.profile, name, kind, isa: isa)
            XCTAssertEqual(out.shape, expected.shape, file: file, line: line)
            let d = relativeL2(out.values, expected.values)
            XCTAssertLessThan(
                d, 1e-5, "\(name) with \(kind) \(isa ?? ""): relative L2 \(d) from Keras", file: file, line: line)
        }
    }

    func testBasicCNNMatchesKeras() throws { try check("basic-small") }
    func testResidualInceptionModelMatchesKeras() throws { try check("residual-small") }

    func testImportedGraphNamesKerasLayersAndTheirInputs() throws {
        let p = try KerasModelImport.load(path: path("residual-small.keras")).profile
        XCTAssertEqual(p.inputShape, [16, 16, 3])
        XCTAssertEqual(p.classes, 10)
        let add = try XCTUnwrap(p.layers.first { $0.type == .add })
        XCTAssertEqual(add.inputs, ["re_lu", "conv2d_2"])
        XCTAssertEqual(p.layers.first?.inputs, ["input"])
        XCTAssertEqual(p.layers.first { $0.type == .relu }?.activation, .relu6)
        let pool = try XCTUnwrap(p.layers.first { $0.type == .maxPooling2D })
        XCTAssertEqual(pool.windowStrides, [1, 1])
        XCTAssertEqual(p.initialValues["conv2d/bias"], nil, "use_bias=False has no bias variable")
        let model = try ModelBuilder.build(p, input: [16, 16, 3])
        XCTAssertEqual(model.parameterCount, 1150, "Keras's count_params()")
    }

    /// A Keras 3 `.weights.h5` (save_weights) loads by layer name into the same architecture.
    func testKeras3WeightsFileLoadsByLayerName() throws {
        var bare = try KerasModelImport.load(path: path("basic-small.keras")).profile
        bare.initialValues = [:]
        let (images, _) = try InferenceInput.read(path("basic-small-inputs.npy"), layout: .nhwc, modelInput: [])
        let inference = ModelInference(runner: SerialRunner(), policy: .fixed(.im2col), options: ConvOptions())
        let model = try inference.build(bare, imageShape: [28, 28, 1], weights: path("basic-small.weights.h5"))
        let out = try inference.run(model, probabilities: true, images: images, batchSize: 8)
        let expected = try NpyArray.read(path("basic-small-probabilities.npy"))
        XCTAssertLessThan(relativeL2(out.values, expected.values), 1e-5)
    }

    // MARK: bad input: one error naming the file and the layer, never a trap

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func tempFile(_ bytes: [UInt8], _ name: String = "bad.keras") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-keras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func assertRefused(_ file: String, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try KerasModelImport.load(path: file), line: line) { e in
            let text = "\(e)"
            for f in fragments { XCTAssertTrue(text.contains(f), "'\(f)' not in: \(text)", line: line) }
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", line: line)
        }
    }

    /// The archive rewritten with config.json edited by `edit`.
    func archive(editingConfig edit: (String) -> String) throws -> String {
        let z = try ZipArchive(path: path("residual-small.keras"))
        let config = String(decoding: try z.read("config.json"), as: UTF8.self)
        return try tempFile(
            StoredZip.make([
                ("metadata.json", try z.read("metadata.json")), ("config.json", Array(edit(config).utf8)),
                ("model.weights.h5", try z.read("model.weights.h5")),
            ]))
    }

    func testTruncatedArchiveIsRefused() throws {
        let b = try bytes("basic-small.keras")
        assertRefused(try tempFile(Array(b.prefix(b.count / 2))), ["bad.keras", "truncated"])
    }

    func testDamagedMemberFailsItsChecksum() throws {
        var b = try bytes("basic-small.keras")
        let z = try ZipArchive(bytes: b, path: "x")
        let h5 = try XCTUnwrap(z.members.first { $0.name == "model.weights.h5" })
        b[h5.localHeaderOffset + 30 + h5.name.utf8.count + 4000] ^= 0xFF
        assertRefused(try tempFile(b), ["model.weights.h5", "CRC-32"])
    }

    func testRebuiltArchiveStillImports() throws {
        let file = try archive { $0 }
        XCTAssertEqual(try KerasModelImport.load(path: file).profile.layers.count, 17)
    }

    func testUnsupportedLayerIsNamed() throws {
        let file = try archive {
            $0.replacingOccurrences(of: "\"class_name\": \"Add\"", with: "\"class_name\": \"Multiply\"")
        }
        assertRefused(file, ["layer 'add' (Multiply)", "cnnscope has no such layer"])
    }

    func testMissingWeightsAreNamed() throws {
        let file = try archive { $0.replacingOccurrences(of: "\"conv2d_3\"", with: "\"conv2d_9\"") }
        assertRefused(file, ["no weights for layer 'conv2d_9'"])
    }

    func testWrongShapesAreNamed() throws {
        let file = try archive { $0.replacingOccurrences(of: "\"filters\": 4,", with: "\"filters\": 5,") }
        XCTAssertThrowsError(try ModelBuilder.build(try KerasModelImport.load(path: file).profile, input: [16, 16, 3]))
        {
            XCTAssertTrue("\($0)".contains("conv2d_3/kernel"), "\($0)")
        }
    }

    func testNotAZipIsRefused() throws {
        assertRefused(try tempFile(Array("not a zip at all".utf8)), ["not a readable zip archive"])
    }
}

/// A zip archive of stored members (what Keras writes), for the tests' edited archives.
enum StoredZip {
    static func make(_ members: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, _ b: inout [UInt8]) {
            for s in [0, 8, 16, 24] { b.append(UInt8(v >> UInt32(s) & 0xFF)) }
        }
        for (name, data) in members {
            let offset = out.count, crc = Inflate.crc32(data), n = Array(name.utf8)
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out)
            u16(n.count, &out); u16(0, &out); out += n + data
            u32(0x0201_4b50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(crc, &central); u32(UInt32(data.count), &central)
            u32(UInt32(data.count), &central); u16(n.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(0, &central); u32(UInt32(offset), &central); central += n
        }
        let dirOffset = out.count
        out += central
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(central.count), &out); u32(UInt32(dirOffset), &out); u16(0, &out)
        return out
    }
}
