import Datasets
import Foundation
import Kernels
import Layers
import Profiling
import SwiftProtobuf
import Tensor
import Training
import XCTest

@testable import Onnx

/// The committed fixtures (Scripts/onnx/make_fixtures.py) against ONNX Runtime's outputs, and
/// the files the importer must refuse with a one-line error.
final class OnnxImportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/onnx").standardized.path

    func path(_ name: String) -> String { "\(Self.fixtures)/\(name)" }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let imported = try OnnxModelImport.load(path: path("\(name).onnx"))
        let (images, _) = try InferenceInput.read(path("\(name).input.npy"), layout: .nchw, modelInput: [])
        let inference = ModelInference(runner: SerialRunner(), policy: .fixed(.im2col), options: ConvOptions())
        let out = try inference.run(imported.profile, images: images, batchSize: 64)
        let expected = try NpyArray.read(path("\(name).expected.npy"))
        XCTAssertEqual(out.shape, expected.shape, name, file: file, line: line)
        let d = relativeL2(out.values, expected.values)
        XCTAssertLessThan(d, 1e-4, "\(name): relative L2 \(d) from ONNX Runtime", file: file, line: line)
        // The plain C references (--isa scalar) give the same outputs as the AVX2 kernels.
        let scalar = try ModelInference(
            runner: SerialRunner(), policy: .fixed(.im2col), options: ConvOptions(isa: "scalar")
        )
        .run(imported.profile, images: images, batchSize: 64)
        XCTAssertLessThan(relativeL2(scalar.values, expected.values), 1e-4, "\(name) scalar", file: file, line: line)
        // Every algorithm that applies gives the same outputs.
        for kind in [ConvAlgorithmKind.naive, .winogradF4] {
            let other = try ModelInference(runner: SerialRunner(), policy: .fixed(kind), options: ConvOptions())
                .run(imported.profile, images: images, batchSize: 1)
            XCTAssertLessThan(
                relativeL2(other.values, expected.values), 1e-4, "\(name) with \(kind)", file: file, line: line)
        }
    }

    func testConvNetMatchesOnnxRuntime() throws { try check("convnet") }
    func testDepthwiseSeparableBlockMatchesOnnxRuntime() throws { try check("depthwise") }
    func testResidualConcatBlockMatchesOnnxRuntime() throws { try check("residual") }
    func testExternalDataMatchesOnnxRuntime() throws { try check("external") }
    func testFloat16InitializersMatchOnnxRuntime() throws { try check("float16") }

    func testImportedLayersAndParameters() throws {
        let m = try OnnxModelImport.load(path: path("convnet.onnx"))
        XCTAssertEqual(m.opset, 13)
        XCTAssertEqual(m.profile.inputShape, [8, 8, 1])
        XCTAssertTrue(m.profile.outputsProbabilities)
        // Relu fused into the first convolution; pads (0, 0, 1, 1) at stride 2 on 4x4 are Keras's "same".
        XCTAssertEqual(m.profile.layers.first?.activation, .relu)
        XCTAssertTrue(m.profile.layers.contains { $0.type == .conv2D && $0.padding == .same && $0.strides == 2 })
        // Pad (H 1/0, W 1/1) is a ZeroPadding2D layer; MaxPool 3x3 stride 2 pad 1 a window pooling.
        let r = try OnnxModelImport.load(path: path("residual.onnx"))
        XCTAssertTrue(r.profile.layers.contains { $0.type == .zeroPadding2D && $0.pad == [1, 0, 1, 1] })
        XCTAssertTrue(r.profile.layers.contains { $0.type == .maxPooling2D && $0.windowStrides == [2, 2] })
        let model = try ModelBuilder.build(m.profile, input: [8, 8, 1])
        XCTAssertEqual(model.parameterCount, m.weightElements)
        // The shape subgraph folds away: no Shape, Gather or Reshape layer is left.
        let d = try OnnxModelImport.load(path: path("depthwise.onnx"))
        XCTAssertEqual(d.profile.layers.map(\.type.rawValue).filter { $0 == "Flatten" }, [])
        XCTAssertTrue(d.profile.layers.contains { $0.type == .depthwiseConv2D })
    }

    func testDynamicBatchIsAcceptedAndFixedByTheBatchSize() throws {
        let m = try OnnxModelImport.load(path: path("convnet.onnx"), batch: 5)
        XCTAssertEqual(m.onnxInputShape, [5, 1, 8, 8])
    }

    func expectError(_ file: String, contains parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try OnnxModelImport.load(path: path(file)), line: line) { e in
            let text = "\(e)"
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", line: line)
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' should name \(p)", line: line) }
        }
    }

    func testTruncatedFileIsAClearError() {
        expectError("bad_truncated.onnx", contains: ["bad_truncated.onnx", "truncated"])
    }

    func testMissingInitializerIsNamed() {
        expectError("bad_missing_initializer.onnx", contains: ["c2_w", "missing", "Conv", "opset 13"])
    }

    func testUnsupportedOperatorNamesNodeOpAndOpset() {
        expectError("bad_unsupported_op.onnx", contains: ["Einsum", "opset 13", "unsupported operator", "node '"])
    }

    func testDynamicSpatialDimensionsAreRefused() {
        expectError("bad_dynamic_spatial.onnx", contains: ["'H'", "fixed", "input size"])
    }

    func testHalfPrecisionWidening() {
        XCTAssertEqual(OnnxConstant.widenHalf(0x3C00), 1)
        XCTAssertEqual(OnnxConstant.widenHalf(0xC000), -2)
        XCTAssertEqual(OnnxConstant.widenHalf(0x0001), 0x1p-24)
        XCTAssertEqual(OnnxConstant.widenHalf(0x7C00), .infinity)
    }
}

/// Fine-tuning an imported classifier: the convolutional part frozen, the last Dense resized.
final class OnnxFineTuningTests: XCTestCase {
    func testClassifierOnlyFreezesTheBaseAndResizesTheHead() throws {
        let m = try OnnxModelImport.load(path: "\(OnnxImportTests.fixtures)/convnet.onnx")
        var p = try m.profile.freezingAllButClassifier()
        p.classes = 3
        p = p.withClassifierSized(classes: 3)
        let model = try ModelBuilder.build(p, input: [8, 8, 1])
        XCTAssertEqual(model.outputShape, [3])
        let dense = model.layers.filter { $0 is DenseLayer }
        XCTAssertTrue(dense.allSatisfy(\.trainable))
        XCTAssertTrue(model.layers.filter { $0 is Conv2DLayer }.allSatisfy { !$0.trainable })
        // The frozen convolutions keep the imported weights.
        let conv = try XCTUnwrap(model.layers.first as? Conv2DLayer)
        XCTAssertEqual(conv.kernel.value.data[0], m.profile.initialValues["\(conv.name)/kernel"]?[0])
        // A model whose graph does not end in Gemm/MatMul has nothing to fine-tune alone.
        let bad = try OnnxModelImport.load(path: "\(OnnxImportTests.fixtures)/residual.onnx").profile
        var noHead = bad
        noHead.layers.removeLast()
        XCTAssertThrowsError(try noHead.freezingAllButClassifier()) { XCTAssertTrue("\($0)".contains("Dense")) }
    }
}

/// The generated schema's name tables (folded into multi-line literals) still name every field
/// and enum value as onnx.proto does.
final class OnnxSchemaNamesTests: XCTestCase {
    func testJSONNamesComeFromTheNameMaps() throws {
        var t = Onnx_TensorProto()
        t.name = "w"
        t.dataType = 10
        t.dims = [2]
        var n = Onnx_NodeProto()
        n.opType = "Conv"
        n.input = ["x", "w"]
        let json = try n.jsonString() + t.jsonString()
        for key in ["\"opType\":\"Conv\"", "\"input\":[\"x\",\"w\"]", "\"dataType\":10", "\"dims\":[\"2\"]"] {
            XCTAssertTrue(json.contains(key), "\(key) in \(json)")
        }
        XCTAssertEqual(try Onnx_TensorProto(jsonString: #"{"name":"w","dataType":10}"#).name, "w")
        var a = Onnx_AttributeProto()
        a.name = "alpha"
        a.type = .float
        let aj = try a.jsonString()
        XCTAssertTrue(aj.contains("\"type\":\"FLOAT\""), aj)
        XCTAssertTrue(try Onnx_OperatorSetIdProto.with { $0.domain = "ai.onnx" }.jsonString().contains("ai.onnx"))
    }
}
