import Datasets
import Foundation
import XCTest

@testable import cnnscope

/// `cnnscope data fetch` against a local HTTP server on 127.0.0.1 (a small python3 server that
/// honours Range requests and can cut a transfer short once) serving small files in the data sets'
/// real formats, with a catalog of their SHA-256 digests.
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
        let script = root.appendingPathComponent("range_server.py")
        try Data(Self.rangeServer.utf8).write(to: script)
        p.arguments = [script.path, "\(port)", root.appendingPathComponent("served").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        try serve("ping", [1])
        for _ in 0..<100 {  // until it answers
            if (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/ping")!)) != nil { return }
            usleep(50_000)
        }
        XCTFail("the local HTTP server did not start")
    }

    /// Serves a folder; honours `Range: bytes=N-` with 206; for a file with a `NAME.cut` marker,
    /// the first answer promises the whole file but sends half and closes (the marker is then
    /// removed); logs each request's path and Range to requests.log.
    static let rangeServer = """
        import http.server, os, sys
        port, root = int(sys.argv[1]), sys.argv[2]
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_GET(self):
                path = os.path.join(root, self.path.lstrip("/"))
                rng = self.headers.get("Range")
                with open(os.path.join(root, "..", "requests.log"), "a") as log:
                    log.write(f"{self.path} {rng}\\n")
                if not os.path.isfile(path):
                    self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
                data = open(path, "rb").read()
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if os.path.exists(path + ".cut"):
                    os.remove(path + ".cut")
                    self.wfile.write(data[start:start + (len(data) - start) // 2]); self.wfile.flush()
                    self.connection.shutdown(2); self.close_connection = True; return
                self.wfile.write(data[start:])
        http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
        """

    func serve(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: root.appendingPathComponent("served/\(name)"))
    }

    static func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xff) } }

    func catalog(_ entries: String) throws -> String {
        let path = root.appendingPathComponent("catalog.json").path
        try Data(#"{"schema": "cnnscope.datasets/2", "datasets": [\#(entries)]}"#.utf8).write(
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
        let fileList = files.map { #"{"file": "\#($0.0)", "sha256": "\#(SHA256.hex($0.1))"}"# }.joined(separator: ", ")
        let members = [
            "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
            "test_batch.bin",
        ].map { "\"\($0)\"" }.joined(separator: ", ")
        let cat = try catalog(
            #"{"name": "mnist", "description": "d", "base_urls": ["http://invalid.example/"], "#
                + #""files": [\#(fileList)], "dataset_option": "mnist"},"#
                + #"{"name": "cifar10", "description": "d", "base_urls": ["http://invalid.example/"], "#
                + #""files": [{"file": "cifar-10-binary.tar.gz", "sha256": "\#(SHA256.hex(archive))", "#
                + #""extract": [\#(members)]}], "dataset_option": "cifar10"}"#
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

    func fetch(_ name: String, _ cat: String, _ dir: URL, mirror: String? = nil) throws {
        try DataCommand.Fetch.parse(
            [name, "--catalog", cat, "--mirror", mirror ?? "http://127.0.0.1:\(port)/", "--data-dir", dir.path]
        ).run()
    }

    func testAWrongChecksumKeepsNothingAndSaysWhy() throws {
        try startServer()
        try serve("a.bin", [1, 2, 3])
        let zeros = String(repeating: "0", count: 64)
        let cat = try catalog(
            #"{"name": "x", "description": "d", "base_urls": ["http://invalid.example/"], "#
                + #""files": [{"file": "a.bin", "sha256": "\#(zeros)"}], "dataset_option": "mnist"}"#
        )
        let dir = root.appendingPathComponent("x")
        XCTAssertThrowsError(try fetch("x", cat, dir)) { e in
            XCTAssertTrue("\(e)".contains("SHA-256 \(SHA256.hex([1, 2, 3])), expected \(zeros)"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no partial file left")
        // A server that is not there: one line naming the URL and the manual alternative.
        XCTAssertThrowsError(try fetch("x", cat, dir, mirror: "http://127.0.0.1:1/")) { e in
            XCTAssertTrue("\(e)".contains("http://127.0.0.1:1/a.bin"), "\(e)")
            XCTAssertTrue("\(e)".contains("download it by hand into \(dir.path)"), "\(e)")
        }
        XCTAssertThrowsError(try DataCommand.Fetch.parse(["nope", "--catalog", cat]).run()) { e in
            XCTAssertTrue("\(e)".contains("unknown data set 'nope'"), "\(e)")
        }
    }

    func testMissingFileIs404AndTheNextLocationIsTried() throws {
        try startServer()
        let bytes = (0..<5000).map { UInt8($0 % 253) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("served/second"), withIntermediateDirectories: true)
        try Data(bytes).write(to: root.appendingPathComponent("served/second/b.bin"))
        let first = "http://127.0.0.1:\(port)/first/", second = "http://127.0.0.1:\(port)/second/"
        let cat = try catalog(
            #"{"name": "y", "description": "d", "base_urls": ["\#(first)", "\#(second)"], "#
                + #""files": [{"file": "b.bin", "size": 5000, "sha256": "\#(SHA256.hex(bytes))"}], "#
                + #""dataset_option": "mnist"}"#
        )
        let dir = root.appendingPathComponent("y")
        try DataCommand.Fetch.parse(["y", "--catalog", cat, "--data-dir", dir.path]).run()
        XCTAssertEqual([UInt8](try Data(contentsOf: dir.appendingPathComponent("b.bin"))), bytes)
        let only404 = try catalog(
            #"{"name": "z", "description": "d", "base_urls": ["\#(first)"], "files": [{"file": "b.bin", "#
                + #""sha256": "\#(SHA256.hex(bytes))"}], "dataset_option": "mnist"}"#
        )
        XCTAssertThrowsError(
            try DataCommand.Fetch.parse(["z", "--catalog", only404, "--data-dir", dir.path + "z"]).run()
        ) {
            XCTAssertTrue("\($0)".contains("\(first)b.bin: HTTP status 404"), "\($0)")
        }
    }

    /// A transfer cut short keeps its bytes; the next fetch asks for the rest (Range) and verifies.
    func testATruncatedTransferIsResumed() throws {
        try startServer()
        let bytes = (0..<200_000).map { UInt8(($0 * 7) % 251) }
        try serve("big.bin", bytes)
        try Data().write(to: root.appendingPathComponent("served/big.bin.cut"))
        let cat = try catalog(
            #"{"name": "r", "description": "d", "base_urls": ["http://invalid.example/"], "#
                + #""files": [{"file": "big.bin", "size": 200000, "sha256": "\#(SHA256.hex(bytes))"}], "#
                + #""dataset_option": "mnist"}"#
        )
        let dir = root.appendingPathComponent("r")
        XCTAssertThrowsError(try fetch("r", cat, dir)) { e in
            XCTAssertTrue("\(e)".contains("kept for a resumed fetch"), "\(e)")
        }
        let part = dir.appendingPathComponent(".big.bin.part")
        let kept = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: part.path)[.size] as? Int)
        XCTAssertEqual(kept, 100_000, "the half that arrived is kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("big.bin").path))
        try fetch("r", cat, dir)
        XCTAssertEqual([UInt8](try Data(contentsOf: dir.appendingPathComponent("big.bin"))), bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: part.path))
        let log = try String(contentsOf: root.appendingPathComponent("requests.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("/big.bin bytes=100000-"), log)
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var split = SHA256()  // fed in odd pieces: the same digest
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        for start in stride(from: 0, to: million.count, by: 999) {
            split.update(Array(million[start..<min(start + 999, million.count)]))
        }
        XCTAssertEqual(split.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
