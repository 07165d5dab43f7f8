import Hardware
import XCTest

/// The steal time read from /proc/stat: its parsing, the fraction over a run, and this machine's.
final class HostStealTimeTests: XCTestCase {
    /// The aggregate line's first eight numbers: steal is the eighth, the total their sum; guest
    /// times (ninth and tenth) are inside user and nice already.
    func testParsesTheAggregateCPULine() throws {
        let text = """
            cpu  100 2 30 800 4 5 6 53 7 8
            cpu0 50 1 15 400 2 2 3 27 0 0
            intr 12345
            """
        XCTAssertEqual(HostCPUTimes.parse(text), HostCPUTimes(steal: 53, total: 1000))
        XCTAssertNil(HostCPUTimes.parse("cpu  1 2 3 4 5 6 7\n"), "seven numbers: no steal column")
        XCTAssertNil(HostCPUTimes.parse("cpu0 1 2 3 4 5 6 7 8\n"), "only per-CPU lines")
    }

    /// vmstat's st: the steal ticks over all ticks between two readings; nothing when no tick passed.
    func testStealFractionBetweenTwoReadings() {
        let a = HostCPUTimes(steal: 50, total: 1000), b = HostCPUTimes(steal: 80, total: 1200)
        XCTAssertEqual(b.stealFraction(since: a) ?? -1, 0.15, accuracy: 1e-12)
        XCTAssertNil(a.stealFraction(since: a))
        XCTAssertNil(a.stealFraction(since: b), "counters that went backwards")
    }

    /// This machine's /proc/stat reads, and two readings a moment apart give a fraction in 0...1.
    func testReadsThisMachinesTimes() throws {
        let a = try HostCPUTimes.read()
        XCTAssertGreaterThan(a.total, 0)
        XCTAssertLessThanOrEqual(a.steal, a.total)
        var x = 0.0
        for i in 0..<3_000_000 { x += Double(i & 7) }
        XCTAssertGreaterThan(x, 0)
        usleep(20_000)
        let b = try HostCPUTimes.read()
        if let f = b.stealFraction(since: a) { XCTAssertTrue((0...1).contains(f), "\(f)") }
        XCTAssertThrowsError(try HostCPUTimes.read(path: "/nonexistent/stat"))
    }
}
