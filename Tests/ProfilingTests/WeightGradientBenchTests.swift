import Kernels
import Tensor
import XCTest

@testable import Profiling

/// `cnnscope bench`'s weight-gradient rows: both sides timed, the transforms that apply (two for
/// 3x3 and two for 5x5), a speed-up within its own min–max, and a table naming them.
final class WeightGradientBenchTests: XCTestCase {
    func testRowsTimeBothSidesAndRender() throws {
        let g3 = try ConvGeometry(n: 2, h: 8, w: 8, c: 4, k: 8, r: 3)
        let g5 = try ConvGeometry(n: 2, h: 8, w: 8, c: 4, k: 8, r: 5)
        let rows = [g3, g5].map {
            WeightGradientBench.row($0, threads: 1, pool: SerialRunner(), options: ConvOptions(), repetitions: 3)
        }
        XCTAssertEqual(rows[0].winogradGFLOPs.keys.sorted(), ["F(2x2,3x3)", "F(4x4,3x3)"])
        XCTAssertEqual(rows[1].winogradGFLOPs.keys.sorted(), ["F(2x2,5x5)", "F(4x4,5x5)"])
        for r in rows {
            XCTAssertTrue(r.im2colGFLOPs.isFinite && r.im2colGFLOPs > 0, "\(r)")
            XCTAssertTrue(r.winogradGFLOPs.values.allSatisfy { $0.isFinite && $0 > 0 }, "\(r)")
            XCTAssertTrue(r.speedupMin <= r.speedup && r.speedup <= r.speedupMax, "\(r)")
        }
        let text = WeightGradientBench.text(rows)
        XCTAssertTrue(text.contains("F(2x2,5x5)") && text.contains("F(4x4,5x5)") && text.contains(rows[0].layer), text)
    }
}
