import Foundation

/// The machine's CPU time by kind since boot, from the aggregate `cpu` line of /proc/stat (in clock
/// ticks): on a virtual machine, `steal` is the time its virtual CPUs were ready to run while the
/// host ran something else. Two readings bracket a run; `stealFraction` is vmstat's `st` over it.
public struct HostCPUTimes: Equatable, Sendable {
    /// Ticks the host took away from this machine's virtual CPUs.
    public var steal: UInt64
    /// Ticks of every kind (user, nice, system, idle, iowait, irq, softirq, steal).
    public var total: UInt64

    public init(steal: UInt64, total: UInt64) { self.steal = steal; self.total = total }

    /// The aggregate line of /proc/stat's text: `cpu  user nice system idle iowait irq softirq steal ...`
    /// (guest times are already inside user and nice, so they are not added again). Nil when the text
    /// has no such line or fewer than eight numbers on it (a kernel without steal accounting).
    public static func parse(_ text: String) -> HostCPUTimes? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        return HostCPUTimes(steal: fields[7], total: fields[0..<8].reduce(0, +))
    }

    /// This machine's times now (`path`: /proc/stat, or a copy for tests).
    public static func read(path: String = "/proc/stat") throws -> HostCPUTimes {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HardwareError.invalid("\(path): cannot read the CPU times")
        }
        guard let times = parse(text) else {
            throw HardwareError.invalid("\(path): no 'cpu' line with steal time (eight numbers or more)")
        }
        return times
    }

    /// The share of all CPU time from `earlier` to `self` that the host took away (0...1), as vmstat's
    /// `st`; nil when no tick passed or the counters went backwards.
    public func stealFraction(since earlier: HostCPUTimes) -> Double? {
        guard total > earlier.total, steal >= earlier.steal else { return nil }
        return Double(steal - earlier.steal) / Double(total - earlier.total)
    }
}
