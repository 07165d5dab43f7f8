import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Figures
@testable import Roofline
@testable import Reports

func sampleReport() -> ProfileReport {
    let roof = Roofline(computeGFLOPs: 100, computeName: "FMA peak (1 thread)",
                        bandwidths: [.init(level: "L1", gbPerSecond: 200), .init(level: "DRAM", gbPerSecond: 10)], provenance: .measured)
    func layer(_ name: String, _ type: String, _ conv: String?, ms: Double, flops: Double, bytes: Double) -> LayerResult {
        let p = RooflinePoint(label: name, algorithm: "im2col", flops: flops, bytes: bytes, seconds: ms / 1e3, roofline: roof)
        return LayerResult(name: name, type: type, phase: "forward", convAlgorithm: conv,
                           medianSeconds: .of(ms / 1e3, .measured, "s"), minSeconds: .of(ms / 1e3 * 0.9, .measured, "s"),
                           maxSeconds: .of(ms / 1e3 * 1.2, .measured, "s"), directFLOPs: .of(flops, .modelled), executedFLOPs: .of(flops, .modelled),
                           minimumBytes: .of(bytes, .modelled), algorithmBytes: .of(bytes * 2, .modelled), countedBytes: .missing("ENOENT — no PMU <here> & now", .counted),
                           simulatedBytes: nil, intensity: .of(p.intensity, .modelled), attainedGFLOPs: .of(p.attainedGFLOPs, .measured),
                           roofGFLOPs: .of(p.roofGFLOPs, .modelled), efficiency: .of(p.efficiency, .measured), bound: p.bound.rawValue,
                           shareOfModelTime: .of(0.5, .measured), counters: ["IPC": .missing("cycles: ENOENT", .counted)], tooShortToMeasure: false)
    }
    let run = AlgorithmRun(algorithm: "im2col", layers: [layer("conv2d", "Conv2D", "im2col", ms: 1, flops: 2e7, bytes: 1e6),
                                                         layer("dense", "Dense", nil, ms: 1, flops: 1e6, bytes: 2e6)],
                           totals: ModelTotals(seconds: .of(0.002, .measured, "s"), imagesPerSecond: .of(4000, .measured), latencyMsPerImage: .of(0.25, .measured),
                                               gflops: .of(10.5, .measured), efficiency: .of(0.105, .measured)))
    return ProfileReport(createdAt: "2026-01-01T00:00:00Z", commandLine: "cnnscope profile --model tiny-cnn", machine:
                            MachineSummary(identity: "amd-zen3-2c-l3-32m-abc123", identityDetail: nil, host: "test-host", cpuModel: "Test CPU", cores: 2, processingUnits: 2, caches: ["L1 32 KiB ×2"],
                                           simd: ["AVX2"], pmus: ["perf"], ceilings: ["FMA peak, 1 thread": .of(100, .measured, "GFLOP/s")]),
                         roofline: roof, model: "tiny-cnn", dataset: "synthetic", inputShape: [28, 28, 1], batchSize: 8, threads: 1, bind: "compact",
                         repetitions: 3, phase: "inference (forward)", counterLevel: "software events (fallback)", counterNotes: ["cycles: ENOENT"],
                         runs: [run], bestPerLayer: ["conv2d": "im2col"], notes: [])
}

final class RooflineTests: XCTestCase {
    func testAttainableIsTheMinimumOverCeilings() {
        let r = Roofline(computeGFLOPs: 100, computeName: "peak", bandwidths: [.init(level: "L1", gbPerSecond: 200), .init(level: "DRAM", gbPerSecond: 10)], provenance: .measured)
        XCTAssertEqual(r.memory?.level, "DRAM")
        XCTAssertEqual(r.attainable(intensity: 1), 10)
        XCTAssertEqual(r.attainable(intensity: 50), 100)
        XCTAssertEqual(r.ridgeIntensity, 10)
        XCTAssertEqual(r.bound(intensity: 5), .memory)
        XCTAssertEqual(r.bound(intensity: 20), .compute)
        XCTAssertEqual(r.attainableAllLevels(intensity: 0.1), 1)
        XCTAssertEqual(r.attainable(intensity: 0.1, level: "L1"), 20)
        let p = RooflinePoint(label: "x", algorithm: "a", flops: 2e9, bytes: 1e9, seconds: 1, roofline: r)
        XCTAssertEqual(p.intensity, 2)
        XCTAssertEqual(p.attainedGFLOPs, 2)
        XCTAssertEqual(p.roofGFLOPs, 20)
        XCTAssertEqual(p.efficiency, 0.1, accuracy: 1e-12)
    }
}

final class RendererTests: XCTestCase {
    func testJSONRoundTripAndSchemaChecks() throws {
        let r = sampleReport()
        let text = try ReportRenderer.json(r)
        XCTAssertEqual(try ReportRenderer.decode(Data(text.utf8), file: "r.json"), r)
        let other = text.replacingOccurrences(of: "cnnscope.profile/1", with: "cnnscope.profile/0")
        XCTAssertThrowsError(try ReportRenderer.decode(Data(other.utf8), file: "old.json")) { e in
            XCTAssertTrue("\(e)".contains("old.json: schema 'cnnscope.profile/0'"), "\(e)")
        }
        XCTAssertThrowsError(try ReportRenderer.decode(Data(text.prefix(200).utf8), file: "cut.json")) { e in
            XCTAssertTrue("\(e)".contains("cut.json"), "\(e)")
        }
        XCTAssertThrowsError(try ReportRenderer.decode(Data("{\"schema\": \"cnnscope.profile/1\"}".utf8), file: "empty.json")) { e in
            XCTAssertTrue("\(e)".contains("damaged"), "\(e)")
        }
    }

    func wellFormed(_ xml: String, file: StaticString = #filePath, line: UInt = #line) {
        let p = XMLParser(data: Data(xml.utf8))
        XCTAssertTrue(p.parse(), "not well-formed XML: \(String(describing: p.parserError)) at line \(p.lineNumber)", file: file, line: line)
    }

    func testHTMLAndSVGAreWellFormedAndSelfContained() {
        let r = sampleReport()
        let html = HTMLRenderer.html(r)
        wellFormed(html)
        let svg = HTMLRenderer.rooflineSVG(r.roofline, points: [("conv2d", "im2col", 20, 10)], algorithms: ["im2col"])
        wellFormed(svg)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertTrue(html.contains("<circle"), "one point per layer and algorithm")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && html.contains("src=\"http"), "no external resources")
        XCTAssertTrue(html.contains("cnnscope profile --model tiny-cnn"), "the exact command line")
        XCTAssertTrue(html.contains("&lt;here&gt; &amp; now") || !html.contains("<here>"), "text is escaped")
        wellFormed(ComparisonRenderer.html(r, r, names: ["a.json", "b.json"]))
    }

    func testCSVHasOneRowPerLayerAndAlgorithm() {
        let lines = ReportRenderer.csv(sampleReport()).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("model,algorithm,layer"))
        XCTAssertTrue(lines[1].hasPrefix("tiny-cnn,im2col,conv2d,Conv2D,forward,im2col,0.001,"))
    }

    /// Snapshot of the Markdown for a fixed input. To accept a change:
    /// CNNSCOPE_UPDATE_SNAPSHOTS=1 swift test --filter ReportTests
    func testMarkdownSnapshot() throws {
        let md = ReportRenderer.markdown(sampleReport())
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots/report.md")
        if ProcessInfo.processInfo.environment["CNNSCOPE_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try md.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(md, try String(contentsOf: url, encoding: .utf8))
    }
}
