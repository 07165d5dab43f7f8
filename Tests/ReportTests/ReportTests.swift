import Figures
import Foundation
import XCTest

@testable import Reports
@testable import Roofline

#if canImport(FoundationXML)
    import FoundationXML
#endif

func sampleReport() -> ProfileReport {
    let roof = Roofline(
        computeGFLOPs: 100, computeName: "FMA peak (1 thread)",
        bandwidths: [.init(level: "L1", gbPerSecond: 200), .init(level: "DRAM", gbPerSecond: 10)], provenance: .measured
    )
    func layer(_ name: String, _ type: String, _ conv: String?, ms: Double, flops: Double, bytes: Double) -> LayerResult
    {
        let p = RooflinePoint(
            label: name, algorithm: "im2col", flops: flops, bytes: bytes, seconds: ms / 1e3, roofline: roof)
        return LayerResult(
            name: name, type: type, phase: "forward", convAlgorithm: conv,
            medianSeconds: .of(ms / 1e3, .measured, "s"), minSeconds: .of(ms / 1e3 * 0.9, .measured, "s"),
            maxSeconds: .of(ms / 1e3 * 1.2, .measured, "s"), directFLOPs: .of(flops, .modelled),
            executedFLOPs: .of(flops, .modelled),
            minimumBytes: .of(bytes, .modelled), algorithmBytes: .of(bytes * 2, .modelled),
            countedBytes: .missing("ENOENT — no PMU <here> & now", .counted),
            simulatedBytes: nil, intensity: .of(p.intensity, .modelled),
            attainedGFLOPs: .of(p.attainedGFLOPs, .measured),
            roofGFLOPs: .of(p.roofGFLOPs, .modelled), efficiency: .of(p.efficiency, .measured), bound: p.bound.rawValue,
            shareOfModelTime: .of(0.5, .measured), counters: ["IPC": .missing("cycles: ENOENT", .counted)],
            tooShortToMeasure: false)
    }
    var run = AlgorithmRun(
        algorithm: "im2col",
        layers: [
            layer("conv2d", "Conv2D", "im2col", ms: 1, flops: 2e7, bytes: 1e6),
            layer("dense", "Dense", nil, ms: 1, flops: 1e6, bytes: 2e6),
        ],
        totals: ModelTotals(
            seconds: .of(0.002, .measured, "s"), imagesPerSecond: .of(4000, .measured),
            latencyMsPerImage: .of(0.25, .measured),
            gflops: .of(10.5, .measured), efficiency: .of(0.105, .measured)))
    run.totals.unhookedImagesPerSecond = .of(3900, .measured, "images/s")
    return ProfileReport(
        createdAt: "2026-01-01T00:00:00Z", commandLine: "cnnscope profile --model tiny-cnn",
        machine:
            MachineSummary(
                identity: "amd-zen3-2c-l3-32m-abc123", identityDetail: nil, host: "test-host", cpuModel: "Test CPU",
                cores: 2, processingUnits: 2, caches: ["L1 32 KiB ×2"],
                simd: ["AVX2"], pmus: ["perf"], ceilings: ["FMA peak, 1 thread": .of(100, .measured, "GFLOP/s")]),
        roofline: roof, model: "tiny-cnn", dataset: "synthetic", inputShape: [28, 28, 1], batchSize: 8, threads: 1,
        bind: "compact",
        repetitions: 3, phase: "inference (forward)", counterLevel: "software events (fallback)",
        counterNotes: ["cycles: ENOENT"],
        runs: [run], bestPerLayer: ["conv2d": "im2col"], notes: [])
}

final class RooflineTests: XCTestCase {
    func testAttainableIsTheMinimumOverCeilings() {
        let r = Roofline(
            computeGFLOPs: 100, computeName: "peak",
            bandwidths: [.init(level: "L1", gbPerSecond: 200), .init(level: "DRAM", gbPerSecond: 10)],
            provenance: .measured)
        XCTAssertEqual(r.memory?.level, "DRAM")
        XCTAssertEqual(r.attainable(intensity: 1), 10)
        XCTAssertEqual(r.attainable(intensity: 50), 100)
        XCTAssertEqual(r.ridgeIntensity, 10)
        XCTAssertEqual(r.bound(intensity: 5), .memory)
        XCTAssertEqual(r.bound(intensity: 20), .compute)
        XCTAssertEqual(r.attainable(intensity: 0.1, level: "L1"), 20)
        let p = RooflinePoint(label: "x", algorithm: "a", flops: 2e9, bytes: 1e9, seconds: 1, roofline: r)
        XCTAssertEqual(p.intensity, 2)
        XCTAssertEqual(p.attainedGFLOPs, 2)
        XCTAssertEqual(p.roofGFLOPs, 20)
        XCTAssertEqual(p.efficiency, 0.1, accuracy: 1e-12)
    }

    /// L1 200 GB/s (64 KiB), L2 100 (1 MiB), L3 50 (32 MiB), DRAM 10; compute 100 GFLOP/s.
    static let hierarchy = Roofline(
        computeGFLOPs: 100, computeName: "FMA peak",
        bandwidths: [
            .init(level: "L1", gbPerSecond: 200, capacityBytes: 65536),
            .init(level: "L2", gbPerSecond: 100, capacityBytes: 1_048_576),
            .init(level: "L3", gbPerSecond: 50, capacityBytes: 33_554_432),
            .init(level: "DRAM", gbPerSecond: 10),
        ],
        provenance: .measured, computeCeilings: [.init(name: "scalar", gflops: 8)])

    func testFootprintPicksTheSmallestLevelThatHoldsIt() {
        let r = Self.hierarchy
        // Intensity 0.5 FLOP/B, 500 KiB footprint: L2, roof 50 GFLOP/s; attained 25 → 50%.
        let j = r.judge(flops: 25e9, bytes: 50e9, seconds: 1, footprintBytes: 512_000)
        XCTAssertEqual(j.level, "L2")
        XCTAssertEqual(j.roofGFLOPs, 50)
        XCTAssertEqual(j.efficiency!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(j.ceiling, "L2 bandwidth")
        XCTAssertNil(j.note)
        XCTAssertEqual(r.judge(flops: 1e9, bytes: 1e9, seconds: 1, footprintBytes: 1e12).level, "DRAM")
        XCTAssertEqual(r.judge(flops: 1e9, bytes: 1e9, seconds: 1, footprintBytes: 1e3).level, "L1")
        // High intensity: the compute ceiling bounds it.
        XCTAssertEqual(r.judge(flops: 50e9, bytes: 1e8, seconds: 1, footprintBytes: 1e12).ceiling, "FMA peak")
    }

    func testARateAboveTheModelledRoofMovesToAFasterLevel() {
        // DRAM-sized footprint at 0.5 FLOP/B: DRAM roof 5; attained 40 needs L2 (roof 50).
        let j = Self.hierarchy.judge(flops: 40e9, bytes: 80e9, seconds: 1, footprintBytes: 1e12)
        XCTAssertEqual(j.modelledLevel, "DRAM")
        XCTAssertEqual(j.level, "L2")
        XCTAssertEqual(j.efficiency!, 0.8, accuracy: 1e-12)
        XCTAssertTrue(j.note?.contains("served from L2") ?? false, j.note ?? "")
    }

    func testNoEfficiencyAboveTolerance() {
        // Above even L1's roof (0.1 FLOP/B → 20 GFLOP/s; attained 30): no efficiency, and why.
        let j = Self.hierarchy.judge(flops: 30e9, bytes: 300e9, seconds: 1, footprintBytes: 1e12)
        XCTAssertNil(j.efficiency)
        XCTAssertTrue(j.note?.contains("overstates") ?? false)
        // Random points: whatever is returned stays at or under 105%.
        let seed =
            UInt64(ProcessInfo.processInfo.environment["CNNSCOPE_TEST_SEED"] ?? "") ?? UInt64.random(in: 1...1_000_000)
        print("testNoEfficiencyAboveTolerance seed \(seed) (replay with CNNSCOPE_TEST_SEED=\(seed))")
        var g = SplitMix64(seed: seed)
        for _ in 0..<2000 {
            let flops = Double.random(in: 1e6...1e11, using: &g), bytes = Double.random(in: 1e5...1e11, using: &g)
            let secs = Double.random(in: 1e-4...2, using: &g), fp = Double.random(in: 1e3...1e10, using: &g)
            if let e = Self.hierarchy.judge(flops: flops, bytes: bytes, seconds: secs, footprintBytes: fp).efficiency {
                XCTAssertLessThanOrEqual(e, Roofline.tolerance)
            }
        }
    }

    func testCountedBytesPerLevelPickTheLowestRoof() throws {
        // 1 GFLOP; L2 served 1 GB (roof 100 at 1 FLOP/B → compute 100), DRAM 0.5 GB (roof 20).
        let j = try XCTUnwrap(Self.hierarchy.judge(flops: 1e9, seconds: 0.1, bytesByLevel: ["L2": 1e9, "DRAM": 0.5e9]))
        XCTAssertEqual(j.level, "DRAM")
        XCTAssertEqual(j.roofGFLOPs, 20)
        XCTAssertEqual(j.efficiency!, 0.5, accuracy: 1e-12)
        XCTAssertNil(Self.hierarchy.judge(flops: 1e9, seconds: 1, bytesByLevel: [:]))
    }

    func testComparisonSaysWhenMachinesDiffer() {
        let a = sampleReport()
        var b = a
        XCTAssertNil(ComparisonRenderer.machineNote(a, b))
        XCTAssertFalse(ComparisonRenderer.markdown(a, b, names: ["a", "b"]).contains("different machines"))
        b.machine.identity = "amd-zen4-2c-l3-32m-def456"
        XCTAssertTrue(
            ComparisonRenderer.markdown(a, b, names: ["a", "b"]).contains(
                "different machines (amd-zen3-2c-l3-32m-abc123 vs amd-zen4-2c-l3-32m-def456)"))
        b.machine.identity = nil
        XCTAssertTrue(ComparisonRenderer.machineNote(a, b)?.contains("cannot be told") ?? false)
    }

    func testHierarchicalChartDrawsEveryRoofAndLabelsPoints() throws {
        let svg = HTMLRenderer.rooflineSVG(
            Self.hierarchy, points: [("conv2d_1", "im2col", 2, 30)], algorithms: ["im2col"])
        for level in ["L1 200", "L2 100", "L3 50", "DRAM 10"] { XCTAssertTrue(svg.contains(level), level) }
        XCTAssertTrue(svg.contains(">scalar 8.0 GFLOP/s<"), "the scalar compute ceiling")
        XCTAssertTrue(svg.contains(">conv2d_1</text>"), "points are labelled by layer")
        let classic = HTMLRenderer.rooflineSVG(
            Self.hierarchy, points: [("conv2d_1", "im2col", 2, 30)], algorithms: ["im2col"],
            classic: true)
        XCTAssertFalse(classic.contains("L2 100"))
        XCTAssertTrue(classic.contains("DRAM 10"))
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
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
        XCTAssertThrowsError(
            try ReportRenderer.decode(Data("{\"schema\": \"cnnscope.profile/1\"}".utf8), file: "empty.json")
        ) { e in
            XCTAssertTrue("\(e)".contains("damaged"), "\(e)")
        }
    }

    func wellFormed(_ xml: String, file: StaticString = #filePath, line: UInt = #line) {
        let p = XMLParser(data: Data(xml.utf8))
        XCTAssertTrue(
            p.parse(), "not well-formed XML: \(String(describing: p.parserError)) at line \(p.lineNumber)", file: file,
            line: line)
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
        XCTAssertTrue(html.contains("ENOENT — no PMU &lt;here&gt; &amp; now"), "the note is shown, escaped")
        XCTAssertFalse(html.contains("<here>"), "text is escaped")
        wellFormed(ComparisonRenderer.html(r, r, names: ["a.json", "b.json"]))
    }

    func testCSVHasOneRowPerLayerAndAlgorithm() {
        let lines = ReportRenderer.csv(sampleReport()).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("model,algorithm,layer"))
        XCTAssertTrue(lines[1].hasPrefix("tiny-cnn,im2col,conv2d,Conv2D,forward,im2col,0.001,"))
    }

    /// A ceiling named "FMA peak, avx2-fma 12x8" and a layer name with a quote stay one cell each:
    /// every row parses (RFC 4180) to as many cells as the header, and the cells read back.
    func testCSVQuotesCellsThatHoldCommasOrQuotes() {
        var r = sampleReport()
        r.runs[0].layers[0].boundCeiling = "FMA peak, avx2-fma 12x8 (2 threads)"
        r.runs[0].layers[1].name = "dense \"head\", final"
        let rows = parseCSV(ReportRenderer.csv(r))
        XCTAssertEqual(rows.count, 3)
        for row in rows { XCTAssertEqual(row.count, rows[0].count, "\(row)") }
        let column = { (name: String) in rows[0].firstIndex(of: name)! }
        XCTAssertEqual(rows[1][column("bounding_ceiling")], "FMA peak, avx2-fma 12x8 (2 threads)")
        XCTAssertEqual(rows[2][column("layer")], "dense \"head\", final")
        XCTAssertEqual(rows[1][column("median_s")], "0.001")
    }

    /// A small RFC 4180 reader for the tests: quoted cells may hold commas, doubled quotes and line breaks.
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], cell = "", quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cell.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    cell.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(cell); cell = ""
            } else if c == "\n" {
                row.append(cell); rows.append(row); row = []; cell = ""
            } else {
                cell.append(c)
            }
        }
        if !cell.isEmpty || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    /// The host's steal time over the run shows in the Markdown and the HTML with its provenance,
    /// with a caution above 5%, and in the JSON as a measured figure; a run without it shows none.
    func testHostStealTimeIsReportedWithItsSource() throws {
        var r = sampleReport()
        XCTAssertFalse(ReportRenderer.markdown(r).contains("steal"))
        XCTAssertFalse(HTMLRenderer.html(r).contains("steal"))
        r.hostSteal = .of(0.123, .measured, "fraction")
        let md = ReportRenderer.markdown(r), html = HTMLRenderer.html(r)
        XCTAssertTrue(md.contains("- Host steal time over the run: 12.3% (measured, /proc/stat, as vmstat's st)"), md)
        XCTAssertTrue(md.contains("slower than this machine runs alone; compare ratios measured side by side"), md)
        XCTAssertFalse(try XCTUnwrap(r.hostStealLine).contains("  "), "one space between words")
        XCTAssertTrue(html.contains("Host steal time over the run: 12.3% (measured"), "steal line missing from HTML")
        let back = try JSONDecoder().decode(ProfileReport.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(back.hostSteal, r.hostSteal)
        r.hostSteal = .of(0.01, .measured, "fraction")
        let quiet = try XCTUnwrap(r.hostStealLine)
        XCTAssertTrue(quiet.hasSuffix("1.0% (measured, /proc/stat, as vmstat's st)"), quiet)
    }

    /// Snapshot of the Markdown for a fixed input. To accept a change:
    /// CNNSCOPE_UPDATE_SNAPSHOTS=1 swift test --filter ReportTests
    func testMarkdownSnapshot() throws {
        let md = ReportRenderer.markdown(sampleReport())
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Snapshots/report.md")
        if ProcessInfo.processInfo.environment["CNNSCOPE_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try md.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(md, try String(contentsOf: url, encoding: .utf8))
    }
}

/// A seeded generator for the tests of modules below Tensor (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The lab's Part 7 page: every row, the three winners and both charts.
final class AllModelsPageTests: XCTestCase {
    func testPart7PageHoldsTheTableWinnersAndCharts() {
        let t = AllModelsTable(
            rows: [
                .init(
                    model: "basic-cnn (mnist)", dataset: "mnist", accuracy: 0.99, trainingSeconds: 16,
                    inferenceMs: 0.09, parameters: 421_642, trainableParameters: 421_642),
                .init(
                    model: "tiny-cnn (cifar10)", dataset: "cifar10", accuracy: 0.61, trainingSeconds: 4,
                    inferenceMs: 0.02, parameters: 30_000, trainableParameters: 30_000),
            ], sources: ["lab.json"])
        let h = t.html
        XCTAssertEqual(h.components(separatedBy: "<tr><td>").count - 1, 2)
        XCTAssertTrue(h.contains("Best Model for Accuracy: <b>basic-cnn (mnist)</b>"))
        XCTAssertTrue(h.contains("Best Model for Inference Speed: <b>tiny-cnn (cifar10)</b>"))
        XCTAssertTrue(h.contains("Most Parameter-Efficient Model: <b>tiny-cnn (cifar10)</b>"))
        XCTAssertEqual(h.components(separatedBy: "<svg").count - 1, 2)
    }
}
