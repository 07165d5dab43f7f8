import Figures
import Foundation
import Hardware

/// An event set opened on this machine: which of its events count here, the fallback level
/// that was reached, and a reason for every event that does not count.
public final class CounterSession {
    /// The fallback ladder: hardware events where they open → software events → timers only.
    public enum Level: String, Codable, Sendable {
        case hardware = "hardware counters"
        case software = "software events (fallback)"
        case timersOnly = "timers only (fallback)"
    }

    public let requested: EventSet
    /// The set whose events are counted (the requested one, or SOFTWARE after a fallback).
    public let active: EventSet
    public let section: EventSet.Section?
    public let level: Level
    /// Events of the requested set that cannot be counted here, with the reason in words.
    public private(set) var unavailable: [(variable: String, event: String, reason: String)] = []
    /// Events that count, split into parts that each fit the PMU's counters; each part is
    /// measured in its own run of the region (no multiplexing).
    public private(set) var parts: [[(variable: String, event: EncodedEvent)]] = []
    /// One group per thread for the active part.
    private var groups: [CounterGroup] = []
    public private(set) var activePart = 0
    public let threadIDs: [Int32]

    /// Opens `set` for the threads `tids` (0 = the calling thread). `software` is the set to
    /// fall back to when no event of `set` opens.
    public init(set: EventSet, software: EventSet?, pmus: [PMUInfo], threadIDs tids: [Int32]) {
        requested = set
        threadIDs = tids.isEmpty ? [0] : tids
        let names = pmus.map(\.name)
        let counters = max(1, pmus.first { $0.kind == "core" }?.genericCounters ?? 4)
        var chosen: EventSet = set
        var sec = set.section(for: names)
        var openable = Self.probe(sec, into: &unavailable, setName: set.name, pmus: names)
        var lvl: Level = .hardware
        if openable.isEmpty, let software, software.name != set.name {
            chosen = software
            sec = software.section(for: names)
            var ignored: [(variable: String, event: String, reason: String)] = []
            openable = Self.probe(sec, into: &ignored, setName: software.name, pmus: names)
            lvl = openable.isEmpty ? .timersOnly : .software
        } else if openable.isEmpty {
            lvl = .timersOnly
        } else if openable.allSatisfy({ $0.1.type == 1 }) {
            lvl = .software
        }
        active = chosen
        section = sec
        level = lvl
        // Software events need no PMU counter: one part. Hardware events: `counters` per part.
        let sw = openable.filter { $0.1.type == 1 }, hw = openable.filter { $0.1.type != 1 }
        var ps: [[(variable: String, event: EncodedEvent)]] = []
        for start in stride(from: 0, to: hw.count, by: counters) {
            ps.append(hw[start..<min(hw.count, start + counters)].map { ($0.0, $0.1) })
        }
        if !sw.isEmpty {
            if ps.isEmpty { ps.append([]) }
            ps[0] += sw.map { ($0.0, $0.1) }
        }
        parts = ps
        if !parts.isEmpty { try? select(part: 0) }
    }

    /// Encodes and opens each event alone once; keeps those that open, records why the rest do not.
    static func probe(
        _ section: EventSet.Section?, into missing: inout [(variable: String, event: String, reason: String)],
        setName: String, pmus: [String]
    ) -> [(String, EncodedEvent)] {
        guard let section else {
            missing.append(
                (
                    "*", setName,
                    """
                    no section of \(setName) for the PMUs detected here (\(pmus.joined(separator: ", "))) and no \
                    generic section
                    """
                ))
            return []
        }
        var ok: [(String, EncodedEvent)] = []
        for (v, e) in section.events {
            do {
                let enc = try PfmLibrary.encode(e)
                _ = try CounterGroup(events: [enc])
                ok.append((v, enc))
            } catch let err as HardwareError {
                let reason: String
                if let en = err.errnoValue {
                    reason = "\(Errno.name(en)) — \(CounterProbe.cause(errno: en))"
                } else {
                    reason = "\(err)"
                }
                missing.append((v, e, reason))
            } catch {
                missing.append((v, e, "\(error)"))
            }
        }
        return ok
    }

    /// Opens the groups of one part on every thread (closing the previous part's).
    public func select(part: Int) throws {
        guard part < parts.count else { return }
        completeRead()
        groups = []
        let events = parts[part].map(\.event)
        guard !events.isEmpty else { activePart = part; return }
        for tid in threadIDs {
            let g = try CounterGroup(events: events, tid: tid)
            try g.reset()
            try g.enable()
            groups.append(g)
        }
        activePart = part
        // Fresh groups count from zero, and so do the workers' snapshots.
        if let snaps = workerSnapshots { snaps.update(repeating: 0, count: max(1, workerGroup.count * snapshotStride)) }
    }

    /// Per worker, its counters as last read for `read(into:)` (`attachSelfReads`):
    /// [worker][variable], and which group is that worker's (nil: the caller's worker, read live).
    private var workerSnapshots: UnsafeMutablePointer<Double>?
    private var workerGroup: [Int?] = []
    /// The groups `read` reads live (the calling thread's; the workers' come from their snapshots).
    private var liveGroups: [Int] = []
    private weak var attachedPool: WorkerPool?
    private var snapshotStride = 0
    /// The workers' read (`snapshotWorker`), made once; and the values of the reading in progress,
    /// which the workers' snapshots are still to be added to (`beginRead`).
    private var workerRead: ((Int) -> Void)?
    private var pendingValues: UnsafeMutablePointer<Double>?

    /// Makes `read(into:)` have each of `pool`'s own threads read its counters itself
    /// (`WorkerPool.readWorkers`: a cheap read of the calling thread's events), so it never reads a
    /// worker's counters from another thread while that worker runs, and the workers read nothing
    /// between the profiler's readings. Worker 0 runs on the thread that calls `run`, which is
    /// the one attaching and reading here: its counters are this thread's group (thread id 0), read
    /// live. The pool is held weakly: nothing of the session stays with it.
    public func attachSelfReads(to pool: WorkerPool) {
        let me = WorkerPool.currentThreadID
        let tids = pool.threadIDByWorker
        // Each worker's group, or nil for the caller's worker (read live through its own group).
        guard tids.allSatisfy({ threadIDs.contains($0) || $0 == me }) else { workerGroup = []; return }
        workerGroup = tids.map { tid in threadIDs.firstIndex(of: tid) }
        liveGroups = threadIDs.indices.filter { !workerGroup.contains($0) }
        snapshotStride = parts.map(\.count).max() ?? 0
        let p = UnsafeMutablePointer<Double>.allocate(capacity: max(1, tids.count * snapshotStride))
        p.initialize(repeating: 0, count: max(1, tids.count * snapshotStride))
        workerSnapshots = p
        attachedPool = pool
        workerRead = { [unowned self] w in self.snapshotWorker(w) }
    }

    private func snapshotWorker(_ w: Int) {
        guard let snaps = workerSnapshots, w < workerGroup.count, let g = workerGroup[w], g < groups.count else {
            return
        }
        let slot = snaps + w * snapshotStride
        let n = parts.isEmpty ? 0 : parts[activePart].count
        slot.update(repeating: 0, count: n)
        groups[g].readScaled(into: slot)
    }

    deinit {
        // A worker may still be about to read into the snapshots.
        attachedPool?.awaitReads()
        workerSnapshots?.deallocate()
    }

    /// The active part's variables, in the order `read(into:)` fills them.
    public var activeVariables: [String] { parts.isEmpty ? [] : parts[activePart].map(\.variable) }

    /// Current totals of the active part's events, summed over threads, into `values`
    /// (`activeVariables.count` slots, overwritten): no allocation, for per-layer hooks.
    public func read(into values: UnsafeMutablePointer<Double>) {
        beginRead(into: values)
        completeRead()
    }

    /// Starts a reading of the active part's totals into `values` (overwritten): this thread's
    /// counters now; each worker's when it reads its own (`WorkerPool.postReads`: as soon as it
    /// sees the request, and before its part of the next job), added by `completeRead` or by the
    /// next `beginRead` or `select`, so `values` must stay valid until then. The caller does not
    /// wait for the workers: a per-layer hook costs one read of its own counters.
    public func beginRead(into values: UnsafeMutablePointer<Double>) {
        completeRead()
        let n = parts.isEmpty ? 0 : parts[activePart].count
        values.update(repeating: 0, count: n)
        guard workerSnapshots != nil else {
            for g in groups { g.readScaled(into: values) }
            return
        }
        if let pool = attachedPool, let workerRead { pool.postReads(workerRead) }
        for i in liveGroups where i < groups.count { groups[i].readScaled(into: values) }
        pendingValues = values
    }

    /// Adds the workers' readings to the values of the reading `beginRead` started, waiting for any
    /// worker that has not read yet (nothing pending: returns at once).
    public func completeRead() {
        guard let values = pendingValues, let snaps = workerSnapshots else { return }
        pendingValues = nil
        attachedPool?.awaitReads()
        let n = parts.isEmpty ? 0 : parts[activePart].count
        for w in workerGroup.indices where workerGroup[w] != nil {
            let slot = snaps + w * snapshotStride
            for k in 0..<n { values[k] += slot[k] }
        }
    }

    /// Current totals of the active part's events, summed over threads (scaled if multiplexed).
    public func read() -> [String: (value: Double, scale: Double)] {
        var out: [String: (Double, Double)] = [:]
        let vars = parts.isEmpty ? [] : parts[activePart].map(\.variable)
        for g in groups {
            guard let rs = try? g.read() else { continue }
            for (i, r) in rs.enumerated() where i < vars.count {
                let prev = out[vars[i]] ?? (0, 1)
                out[vars[i]] = (prev.0 + r.scaled, max(prev.1, r.scale))
            }
        }
        return out
    }

    /// Every variable the active set defines, as a figure: counted deltas where present,
    /// derived variables and metrics by formula, and the reason for each missing one.
    public func figures(deltas: [String: Double], scales: [String: Double] = [:], seconds: Double) -> [String: Figure] {
        var out: [String: Figure] = [:]
        var env = deltas
        env["time"] = seconds
        for (v, value) in deltas { out[v] = .of(value, .counted, scale: scales[v]) }
        for (v, f) in section?.derived ?? [] {
            if let x = f.evaluate(env) {
                env[v] = x; out[v] = .of(x, .counted)
            } else {
                out[v] = .missing("derived from events that did not count", .counted)
            }
        }
        for (v, e, reason) in unavailable where out[v] == nil {
            out[v] = .missing("\(e): \(reason)", .counted)
        }
        for (name, f) in active.metrics {
            if let x = f.evaluate(env) {
                out[name] = .of(x, .counted)
            } else {
                let missingVars = f.variables.subtracting(env.keys).sorted()
                out[name] = .missing(
                    missingVars.isEmpty
                        ? "division by zero (region too short)"
                        : "needs \(missingVars.joined(separator: ", ")), not counted here", .counted)
            }
        }
        if active.name != requested.name {
            for (name, _) in requested.metrics where out[name] == nil {
                out[name] = .missing("\(requested.name) cannot be counted here; fell back to \(active.name)", .counted)
            }
        }
        return out
    }

    /// A one-paragraph account of what counts here and why the rest does not.
    public var explanation: String {
        var lines = [
            "event set \(requested.name): \(level.rawValue)"
                + (active.name != requested.name ? " — counting \(active.name) instead" : "")
        ]
        if parts.count > 1 {
            lines.append("  \(parts.count) parts (more events than PMU counters): the region is run once per part")
        }
        for (v, e, r) in unavailable { lines.append("  \(v) (\(e)): \(r)") }
        return lines.joined(separator: "\n")
    }
}
