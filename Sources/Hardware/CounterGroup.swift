import CPerfShim
import CPfm

#if canImport(Glibc)
    import Glibc
#endif

/// One event's value read from a group, with the multiplexing scale kept beside it.
public struct CounterReading: Codable, Equatable, Sendable {
    public var name: String
    /// The raw count while the event was on the PMU.
    public var raw: UInt64
    /// raw × enabled / running: the estimate for the whole enabled time.
    public var scaled: Double
    /// enabled / running (1 when the event was never multiplexed out).
    public var scale: Double
    public var timeEnabledNs: UInt64
    public var timeRunningNs: UInt64

    /// The scaling arithmetic, kept apart so it can be tested on constructed times.
    public static func scale(raw: UInt64, enabled: UInt64, running: UInt64) -> (value: Double, factor: Double)? {
        guard running > 0 else { return nil }
        let f = Double(enabled) / Double(running)
        return (Double(raw) * f, f)
    }
}

/// A perf_event group: one leader and its members, counting the calling thread (or another
/// thread by tid), enabled and disabled together, read in one `read` with
/// PERF_FORMAT_GROUP | ID | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING.
public final class CounterGroup {
    public let names: [String]
    private var fds: [Int32] = []
    private var ids: [UInt64] = []
    /// The read buffer of `readScaled`, allocated once: the profiler reads every layer call.
    private let words: UnsafeMutablePointer<UInt64>
    private let wordCount: Int

    /// Opens `events` as one group on thread `tid` (0 = the calling thread), any CPU.
    /// Throws the typed error of the first event that does not open, naming it.
    public init(events: [EncodedEvent], tid: Int32 = 0) throws {
        precondition(!events.isEmpty, "a counter group needs at least one event")
        names = events.map(\.name)
        wordCount = 3 + 2 * events.count
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
        do {
            for (i, ev) in events.enumerated() {
                var attr = ev.attr
                attr.size = min(UInt32(MemoryLayout<perf_event_attr>.size), cnns_perf_attr_size())
                attr.read_format = UInt64(
                    PERF_FORMAT_GROUP.rawValue | PERF_FORMAT_ID.rawValue | PERF_FORMAT_TOTAL_TIME_ENABLED.rawValue
                        | PERF_FORMAT_TOTAL_TIME_RUNNING.rawValue)
                attr.disabled = i == 0 ? 1 : 0
                attr.inherit = 0
                let leader = i == 0 ? Int32(-1) : fds[0]
                let fd = try SystemCall.check("perf_event_open", context: "event '\(ev.name)'") {
                    cnns_perf_event_open(&attr, tid, -1, leader, 0)
                }
                fds.append(fd)
                var id: UInt64 = 0
                _ = try SystemCall.check("ioctl(PERF_EVENT_IOC_ID)", context: "event '\(ev.name)'") {
                    cnns_perf_ioc_id(fd, &id)
                }
                ids.append(id)
            }
        } catch {
            for fd in fds { close(fd) }
            fds.removeAll()
            // Every stored property is set by now, so deinit runs and frees `words`.
            throw error
        }
    }

    deinit {
        for fd in fds { close(fd) }
        words.deallocate()
    }

    /// Adds each member's scaled value to `values[member]` (members in the order opened): one
    /// `read` and no allocation, for the profiler's per-layer hooks. Returns false when the read
    /// fails; members that never ran add nothing.
    @discardableResult
    public func readScaled(into values: UnsafeMutablePointer<Double>) -> Bool {
        let n = Glibc.read(fds[0], words, wordCount * 8)
        guard n >= 24 else { return false }
        let nr = min(Int(words[0]), fds.count), enabled = words[1], running = words[2]
        guard running > 0 else { return true }
        let factor = Double(enabled) / Double(running)
        for k in 0..<nr {
            let id = words[4 + 2 * k]
            // Members come back in the order they joined the group; look up only if not.
            let idx = ids[k] == id ? k : (ids.firstIndex(of: id) ?? -1)
            if idx >= 0 { values[idx] += Double(words[3 + 2 * k]) * factor }
        }
        return true
    }

    public func reset() throws {
        _ = try SystemCall.check("ioctl(PERF_EVENT_IOC_RESET)", context: names[0]) { cnns_perf_ioc_reset(fds[0], 1) }
    }
    public func enable() throws {
        _ = try SystemCall.check("ioctl(PERF_EVENT_IOC_ENABLE)", context: names[0]) { cnns_perf_ioc_enable(fds[0], 1) }
    }
    public func disable() throws {
        _ = try SystemCall.check("ioctl(PERF_EVENT_IOC_DISABLE)", context: names[0]) {
            cnns_perf_ioc_disable(fds[0], 1)
        }
    }

    /// Reads every member. A member that never ran (running time 0) is absent from the result.
    public func read() throws -> [CounterReading] {
        let words = 3 + 2 * fds.count
        var buf = [UInt64](repeating: 0, count: words)
        let n = try buf.withUnsafeMutableBytes { raw in
            try SystemCall.check("read", context: "perf group '\(names[0])'") {
                Glibc.read(fds[0], raw.baseAddress, raw.count)
            }
        }
        guard n >= 24 else { throw HardwareError.invalid("perf group '\(names[0])': short read of \(n) bytes") }
        let nr = Int(buf[0]), enabled = buf[1], running = buf[2]
        var out: [CounterReading] = []
        for k in 0..<min(nr, fds.count) {
            let value = buf[3 + 2 * k], id = buf[4 + 2 * k]
            guard let idx = ids.firstIndex(of: id) else { continue }
            guard let (scaled, factor) = CounterReading.scale(raw: value, enabled: enabled, running: running) else {
                continue
            }
            out.append(
                CounterReading(
                    name: names[idx], raw: value, scaled: scaled, scale: factor,
                    timeEnabledNs: enabled, timeRunningNs: running))
        }
        return out
    }
}
