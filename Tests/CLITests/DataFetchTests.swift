import Datasets
import Foundation
import XCTest

@testable import cnnscope

/// `cnnscope data fetch` against a local HTTP server on 127.0.0.1 (python3's http.server) serving
/// small files in the data sets' real formats, with a catalog of their checksums.
final class DataFetchTests: XCTestCase {
    var root: URL!
    var server: Process?
    var port = 0

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cnnscope-fetch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("served"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(at: root)
    }

    func startServer() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("python3 is needed for the local HTTP server")
        }
        port = 20_000 + Int.random(in: 0..<20_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [
            "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory",
            root.appendingPathComponent("served").path,
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        for _ in 0..<100 {  // until it answers
            if (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/")!)) != nil { return }
            usleep(50_000)
        }
        XCTFail("the local HTTP server did not start")
    }

    func serve(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: root.appendingPathComponent("served/\(name)"))
    }

    static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xff) } }

    func catalog(_ entries: String) throws -> String {
        let path = root.appendingPathComponent("catalog.json").path
        try Data(#"{"schema": "cnnscope.datasets/1", "datasets": [\#(entries)]}"#.utf8).write(
            to: URL(fileURLWithPath: path))
        return path
    }

    func testFetchesChecksAndUnpacksThenTheLoadersReadIt() throws {
        try startServer()
        // MNIST-like IDX files (20 train, 10 test images of 28x28).
        var files: [(String, [UInt8])] = []
        for (prefix, n) in [("train", 20), ("t10k", 10)] {
            var images: [UInt8] = Self.be32(0x803) + Self.be32(n)
            images += Self.be32(28) + Self.be32(28)
            for i in 0..<(n * 784) { images.append(UInt8(i % 251)) }
            var labels: [UInt8] = Self.be32(0x801) + Self.be32(n)
            for i in 0..<n { labels.append(UInt8(i % 10)) }
            files += [("\(prefix)-images-idx3-ubyte.gz", images), ("\(prefix)-labels-idx1-ubyte.gz", labels)]
        }
        for (name, bytes) in files { try serve(name, bytes) }
        // A CIFAR-10-like binary archive: tar.gz of cifar-10-batches-bin/ with 3 records per batch.
        let batchDir = root.appendingPathComponent("build/cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: batchDir, withIntermediateDirectories: true)
        for b in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"] {
            var records: [UInt8] = []
            for r in 0..<3 {
                records.append(UInt8(r))
                for i in 0..<3072 { records.append(UInt8((i + r) % 256)) }
            }
            try Data(records).write(to: batchDir.appendingPathComponent("\(b).bin"))
        }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = [
            "czf", root.appendingPathComponent("served/cifar-10-binary.tar.gz").path, "-C",
            root.appendingPathComponent("build").path, "cifar-10-batches-bin",
        ]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        let archive = [UInt8](try Data(contentsOf: root.appendingPathComponent("served/cifar-10-binary.tar.gz")))
        let fileList = files.map { #"{"file": "\#($0.0)", "md5": "\#(MD5.hex($0.1))"}"# }.joined(separator: ", ")
        let members = [
            "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
            "test_batch.bin",
        ].map { "\"\($0)\"" }.joined(separator: ", ")
        let cat = try catalog(
            #"{"name": "mnist", "description": "d", "base_url": "http://invalid.example/", "files": [\#(fileList)], "dataset_option": "mnist"},"#
                + #"{"name": "cifar10", "description": "d", "base_url": "http://invalid.example/", "files": [{"file": "cifar-10-binary.tar.gz", "md5": "\#(MD5.hex(archive))", "extract": [\#(members)]}], "dataset_option": "cifar10"}"#
        )
        let mirror = "http://127.0.0.1:\(port)/"
        let mnistDir = root.appendingPathComponent("mnist")
        try DataCommand.Fetch.parse(["mnist", "--catalog", cat, "--mirror", mirror, "--data-dir", mnistDir.path]).run()
        let train = try IDXLoader.load(
            dir: mnistDir.path, prefix: "train", name: "mnist", classNames: IDXLoader.digitClassNames)
        XCTAssertEqual(train.count, 20)
        let cifarDir = root.appendingPathComponent("cifar")
        try DataCommand.Fetch.parse(["cifar10", "--catalog", cat, "--mirror", mirror, "--data-dir", cifarDir.path])
            .run()
        XCTAssertEqual(try CIFAR10Loader.load(dir: cifarDir.path, train: true).count, 15)
        XCTAssertEqual(try CIFAR10Loader.load(dir: cifarDir.path, train: false).count, 3)
        // A second fetch keeps what is there (the server is no longer needed).
        server?.terminate()
        server?.waitUntilExit()
        try DataCommand.Fetch.parse(["mnist", "--catalog", cat, "--mirror", mirror, "--data-dir", mnistDir.path]).run()
    }

    func testAWrongChecksumKeepsNothingAndSaysWhy() throws {
        try startServer()
        try serve("a.bin", [1, 2, 3])
        let cat = try catalog(
            #"{"name": "x", "description": "d", "base_url": "http://invalid.example/", "files": [{"file": "a.bin", "md5": "00000000000000000000000000000000"}], "dataset_option": "mnist"}"#
        )
        let dir = root.appendingPathComponent("x")
        XCTAssertThrowsError(
            try DataCommand.Fetch.parse([
                "x", "--catalog", cat, "--mirror", "http://127.0.0.1:\(port)", "--data-dir", dir.path,
            ])
            .run()
        ) { e in
            XCTAssertTrue(
                "\(e)".contains("MD5 \(MD5.hex([1, 2, 3])), expected 00000000000000000000000000000000"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no partial file left")
        // A server that is not there: one line naming the URL.
        XCTAssertThrowsError(
            try DataCommand.Fetch.parse([
                "x", "--catalog", cat, "--mirror", "http://127.0.0.1:1/", "--data-dir", dir.path,
            ]).run()
        ) { e in XCTAssertTrue("\(e)".contains("http://127.0.0.1:1/a.bin"), "\(e)") }
        XCTAssertThrowsError(try DataCommand.Fetch.parse(["nope", "--catalog", cat]).run()) { e in
            XCTAssertTrue("\(e)".contains("unknown data set 'nope'"), "\(e)")
        }
    }

    func testMD5KnownVectors() {
        XCTAssertEqual(MD5.hex([]), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(MD5.hex(Array("abc".utf8)), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(
            MD5.hex(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8)),
            "57edf4a22be3c955ac49da2e2107b67a")
        XCTAssertEqual(
            MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)), "9e107d9d372bb6826bd81d3542a419d6")
    }
}
