import Datasets
import Foundation
import Reports
import XCTest

@testable import cnnscope

/// `cnnscope infer` on its three input kinds: a .npy array (NCHW, an ONNX model), an IDX image
/// file and a folder of PNG files (a YAML profile), with --top K.
final class InferEndToEndTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/onnx").standardized.path

    func infer(_ args: [String]) throws -> NpyArray {
        let out = tmp.appendingPathComponent("out-\(UUID().uuidString).npy").path
        try InferCommand.parse(args + ["--output", out, "--threads", "1", "--machine", try machineFixture(tmp)]).run()
        return try NpyArray.read(out)
    }

    func testNpyInputThroughAnOnnxModelMatchesOnnxRuntimeAndWritesTopK() throws {
        let out = tmp.appendingPathComponent("y.npy").path
        try InferCommand.parse([
            "--model", "\(Self.fixtures)/residual.onnx", "--input", "\(Self.fixtures)/residual.input.npy",
            "--layout", "nchw", "--output", out, "--top", "2", "--threads", "1", "--conv-algorithm", "im2col",
            "--machine", try machineFixture(tmp),
        ]).run()
        let y = try NpyArray.read(out), expected = try NpyArray.read("\(Self.fixtures)/residual.expected.npy")
        XCTAssertEqual(y.shape, [2, 3])
        for (a, b) in zip(y.values, expected.values) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }
        let csv = try String(contentsOfFile: tmp.appendingPathComponent("y.top2.csv").path, encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 2 * 2)
        XCTAssertTrue(csv.hasPrefix("image,rank,class,class_name,value\n"))
    }

    func testIDXFileThroughAProfile() throws {
        var idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28]
        idx += (0..<(3 * 28 * 28)).map { UInt8($0 % 251) }
        let path = tmp.appendingPathComponent("t10k-images-idx3-ubyte").path
        try Data(idx).write(to: URL(fileURLWithPath: path))
        let y = try infer(["--model", "tiny-cnn", "--input", path])
        XCTAssertEqual(y.shape, [3, 10])
        XCTAssertTrue(y.values.allSatisfy(\.isFinite))
    }

    func testPNGFolderIsDecodedAndResized() throws {
        let dir = tmp.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // A grey 28x28 image and an RGB 40x30 one (resized to 28x28 and averaged to grey).
        let grey = PNGEncoder.encode(width: 28, height: 28, channels: 1, pixels: (0..<784).map { UInt8($0 % 256) })
        let rgb = PNGEncoder.encode(width: 40, height: 30, channels: 3, pixels: (0..<3600).map { UInt8($0 % 200) })
        try Data(grey).write(to: dir.appendingPathComponent("a.png"))
        try Data(rgb).write(to: dir.appendingPathComponent("b.png"))
        let decoded = try PNGDecoder.decode(grey, file: "a.png")
        XCTAssertEqual(decoded.pixels, (0..<784).map { UInt8($0 % 256) })
        let y = try infer(["--model", "tiny-cnn", "--input", dir.path])
        XCTAssertEqual(y.shape, [2, 10])
    }

    func testBadInputIsOneClearLine() throws {
        let bad = tmp.appendingPathComponent("x.npy").path
        try Data("not numpy".utf8).write(to: URL(fileURLWithPath: bad))
        XCTAssertThrowsError(try infer(["--model", "tiny-cnn", "--input", bad])) { e in
            XCTAssertTrue("\(e)".contains("x.npy"))
            XCTAssertTrue("\(e)".contains("not a .npy file"))
        }
        let outputs = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter {
            $0.hasSuffix(".npy") && $0 != "x.npy"
        }
        XCTAssertEqual(outputs, [], "no output is left behind")
    }
}
