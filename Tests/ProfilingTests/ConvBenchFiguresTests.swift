import XCTest

@testable import Profiling

/// `cnnscope bench` has no oneDNN figures of its own: a ratio needs figures measured on this
/// machine (`--onednn`, as Scripts/bench-conv passes them); without them the column stays empty
/// and the text says how to get them.
final class ConvBenchFiguresTests: XCTestCase {
    func testNoFiguresAreBuiltIn() throws {
        XCTAssertTrue(try ConvBenchJob().oneDNNFigures().isEmpty)
        var job = ConvBenchJob()
        job.oneDNN = "N=64|H=14|W=14|C=32|K=64|R=3=339.5/546.4"
        let given = try job.oneDNNFigures()
        XCTAssertEqual(given.count, 1)
        XCTAssertEqual(given["N=64,H=14,W=14,C=32,K=64,R=3"]?.0, 339.5)
        XCTAssertEqual(given["N=64,H=14,W=14,C=32,K=64,R=3"]?.1, 546.4)
        job.oneDNN = "N=64|H=14=1/2/3"
        XCTAssertThrowsError(try job.oneDNNFigures()) { XCTAssertTrue("\($0)".contains("--onednn"), "\($0)") }
    }

    func testTheTableSaysWhenNoFiguresWereGiven() {
        func row(_ d: Double?) -> BenchRow {
            BenchRow(
                layer: "14x14x32->64 3x3", threads: 1, best: "winograd-f4x3", bestGFLOPs: 400, oneDNNGFLOPs: d,
                ratioToOneDNN: d.map { 400 / $0 }, im2colGFLOPs: 200, sgemmGFLOPs: 100, im2colToSgemm: 2,
                winogradF4GFLOPs: 400, winogradF4ToIm2col: 2, bestFractionOfPeak: 1.5, perAlgorithm: [:])
        }
        let without = BenchRow.text([row(nil)], peak: 250, batch: 64, repetitions: 7)
        XCTAssertTrue(without.contains("no figures given"), without)
        func line(_ text: String) -> [Substring] {
            text.split(separator: "\n").first { $0.hasPrefix("14x14") }!.split(separator: " ")
        }
        XCTAssertEqual(Array(line(without)[5...6]), ["—", "—"], without)
        let with = BenchRow.text([row(400)], peak: 250, batch: 64, repetitions: 7)
        XCTAssertFalse(with.contains("no figures given"), with)
        XCTAssertEqual(Array(line(with)[5...6]), ["400.0", "1.00"], with)
    }

    /// --layer replaces the lab's five layers, at the job's batch; a bad one is refused by name
    /// before anything is timed. A oneDNN figure is keyed by its batch, so a run at another batch
    /// gets no ratio from figures taken at 64.
    func testLayersRunAtTheJobsBatchAndFiguresMatchTheirBatch() throws {
        var job = ConvBenchJob()
        XCTAssertEqual(try job.geometries().map(\.n), Array(repeating: 64, count: 5))
        XCTAssertEqual(try job.geometries().map(\.shortDescription).last, "14x14x32->64 5x5")
        job.layers = ["H=7,C=64,K=128,R=3"]
        job.batch = 8
        let g = try job.geometries()
        XCTAssertEqual(g.map(\.description), ["N=8,H=7,W=7,C=64,K=128,R=3,stride=1,pad=same"])
        job.oneDNN = "N=64|H=7|W=7|C=64|K=128|R=3=250/700;N=8|H=7|W=7|C=64|K=128|R=3=90/170"
        let figures = try job.oneDNNFigures()
        XCTAssertEqual(figures[ConvBenchJob.key(g[0])]?.0, 90)
        job.layers = ["H=7,C=64,K=128,R=three"]
        XCTAssertThrowsError(try job.geometries()) {
            XCTAssertEqual("\($0)", "--layer: layer 'H=7,C=64,K=128,R=three': R must be an integer, got 'three'")
        }
        XCTAssertThrowsError(try job.run(environment: [:])) { XCTAssertTrue("\($0)".hasPrefix("--layer: "), "\($0)") }
    }

    /// An ISA the tool does not know, or this CPU lacks, is refused before anything is timed.
    func testAnUnknownISAIsRefusedBeforeMeasuring() {
        var job = ConvBenchJob()
        job.isa = "avx9"
        XCTAssertThrowsError(try job.run(environment: [:])) {
            XCTAssertTrue("\($0)".contains("--isa avx9: unknown"), "\($0)")
        }
    }

    /// The text names the ISA the kernels ran and the FMA microkernel their peak came from.
    func testTheTextNamesTheKernelsISAAndThePeaksKernel() {
        let report = SpeedGoalReport(
            rows: [], weightGradient: [], peakPerThreadGFLOPs: 117, batch: 64, repetitions: 7, kernelISA: "scalar",
            blasCore: "Haswell", peakKernel: "avx2-fma 12x8")
        XCTAssertTrue(
            report.text.hasPrefix("Kernels: scalar, OpenBLAS Haswell; FMA peak from the avx2-fma 12x8 microkernel"),
            report.text)
    }
}
