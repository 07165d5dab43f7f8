import Figures
import Foundation
import Hardware
import Kernels
import Layers

/// Per layer and phase: calls, time (measured) and counter deltas (counted).
public struct LayerRecord: Codable, Sendable {
    public var index: Int
    public var name: String
    public var kerasClass: String
    public var phase: Phase
    public var calls: Int
    /// Wall seconds summed over calls, hook overhead subtracted.
    public var seconds: Double
    public var images: Int
    /// Summed counter deltas per variable (overhead subtracted), for the part(s) that ran.
    public var counters: [String: Double]
    public var counterCalls: [String: Int]
    /// Set when a call took less than 20x the measured hook overhead.
    public var tooShort: Bool
    /// Seconds of each call (overhead subtracted), for medians and ranges.
    public var samples: [Double]
    /// Mean seconds of the calls that read the counters (overhead subtracted): the time that goes
    /// with `countersPerCall` when only some calls read them (`CounterReadPlan.rotating`); nil when
    /// no call read them.
    public var countedCallSeconds: Double?

    /// Mean counter delta per call. With more events than counters each variable was read on
    /// only some calls (its part's), so it is averaged over the calls that read it.
    public var countersPerCall: [String: Double] {
        var out: [String: Double] = [:]
        for (v, total) in counters {
            let n = counterCalls[v] ?? calls
            out[v] = n > 0 ? total / Double(n) : total
        }
        return out
    }
}

/// The profiler's observer: hooks into the runtime (Layers' LayerObserver), times every layer
/// and reads the counter session around it. The observer protocol belongs to the runtime; this
/// class belongs to the profiler.
public final class LayerProfiler: LayerObserver {
    public let session: CounterSession?
    public var convStageObserver: ConvStageObserver?
    /// Which calls read the counters; every call is timed. Set it before a run.
    public var readPlan: CounterReadPlan
    /// The current pass over the model (`readPlan`'s turn): advanced when layer 0's forward
    /// begins; set it to -1 before a run to start the turns at the first window.
    public var pass = -1
    /// Measured cost of one begin/end pair with nothing in between, with a counter read.
    public private(set) var overheadSeconds: Double = 0
    /// The same without a counter read (a call outside the plan's turn, or no session).
    public private(set) var timerOverheadSeconds: Double = 0
    /// Counter reads so far (calibration included): a run's reads per pass are its difference.
    public private(set) var counterReads = 0
    public private(set) var overheadCounts: [String: Double] = [:]
    /// What one slot (layer index × 2 + phase) has gathered, its counters indexed by variable
    /// number: a hook call adds to numbers and hashes no string (a dictionary update per variable,
    /// on tables the layer's own data had pushed out of the caches, cost about as much as the
    /// counter read). `records` and `ordered` assemble `LayerRecord`s from them.
    private struct SlotTotals {
        var index: Int, name: String, kerasClass: String, phase: Phase
        var calls = 0, images = 0, seconds = 0.0, tooShort = false
        var samples: [Double] = []
        /// Seconds and number of the calls that read the counters.
        var countedSeconds = 0.0, countedCalls = 0
        /// The last call's length (clock nanoseconds, no counter read inside), or nil before the first;
        /// and whether a turn it was expected to be quiet in ran longer (its turns read at the start).
        var lastNanos: UInt64?
        var readsAtStart = false
        /// By variable number: summed deltas, and how many calls read each variable.
        var counters: [Double], counterCalls: [Int]
    }
    private var slots: [SlotTotals?] = []
    /// Every variable seen so far (over the session's parts), by number; and the numbers of the
    /// active part's variables, in `vars` order.
    private var variableNames: [String] = []
    private var activeNumbers: [Int] = []
    private var startTime: UInt64 = 0
    /// Counter readings of the active part (`vars`), in preallocated buffers: a hook call does
    /// one `read` per thread and allocates nothing.
    private var vars: [String] = []
    private var part = -1
    private let capacity = 64
    private let startValues: UnsafeMutablePointer<Double>
    private let endValues: UnsafeMutablePointer<Double>
    private let overheadValues: UnsafeMutablePointer<Double>
    /// The last layer's end: a layer that begins right after it (within `quietNanos`) starts from
    /// its reading, so consecutive layers cost one counter read each instead of two.
    private var lastEndTime: UInt64?
    /// Whether the call in progress reads the counters; and whether, quiet on its last call, it
    /// skipped the reading at its start (it counts zero if it is quiet again, else nothing).
    private var readsThisCall = false
    private var expectedQuiet = false
    /// The slot whose last call's counts wait for its end reading to complete.
    private var pendingSlot: Int?
    /// Shorter than this, an interval ran nothing worth a counter read.
    static let quietNanos: UInt64 = 10_000

    public init(
        session: CounterSession?, stageObserver: ConvStageObserver? = nil, readPlan: CounterReadPlan = .everyCall
    ) {
        self.session = session
        self.readPlan = readPlan
        convStageObserver = stageObserver
        startValues = .allocate(capacity: capacity)
        endValues = .allocate(capacity: capacity)
        overheadValues = .allocate(capacity: capacity)
        for p in [startValues, endValues, overheadValues] { p.initialize(repeating: 0, count: capacity) }
    }

    deinit {
        // A reading still in progress would add the workers' part into these buffers.
        session?.completeRead()
        startValues.deallocate()
        endValues.deallocate()
        overheadValues.deallocate()
    }

    public var records: [String: LayerRecord] {
        var out: [String: LayerRecord] = [:]
        for r in ordered { out["\(r.index)/\(r.phase.rawValue)"] = r }
        return out
    }

    /// A slot's record, its counters named.
    private func record(_ t: SlotTotals) -> LayerRecord {
        var counters: [String: Double] = [:], counterCalls: [String: Int] = [:]
        for (j, name) in variableNames.enumerated() where t.counterCalls[j] > 0 {
            counters[name] = t.counters[j]
            counterCalls[name] = t.counterCalls[j]
        }
        return LayerRecord(
            index: t.index, name: t.name, kerasClass: t.kerasClass, phase: t.phase, calls: t.calls,
            seconds: t.seconds, images: t.images, counters: counters, counterCalls: counterCalls,
            tooShort: t.tooShort, samples: t.samples,
            countedCallSeconds: t.countedCalls > 0 ? t.countedSeconds / Double(t.countedCalls) : nil)
    }

    /// Re-reads the variable list when the session switched parts (between repetitions).
    private func syncPart() {
        guard let s = session, s.activePart != part else { return }
        part = s.activePart
        vars = Array(s.activeVariables.prefix(capacity))
        for (i, v) in vars.enumerated() { overheadValues[i] = overheadCounts[v] ?? 0 }
        activeNumbers = vars.map { v in
            if let j = variableNames.firstIndex(of: v) { return j }
            variableNames.append(v)
            return variableNames.count - 1
        }
        for slot in slots.indices where slots[slot] != nil {
            let grow = variableNames.count - slots[slot]!.counters.count
            slots[slot]!.counters += Array(repeating: 0, count: grow)
            slots[slot]!.counterCalls += Array(repeating: 0, count: grow)
        }
    }

    /// Starts a counter reading into `values` (`CounterSession.beginRead`: the workers' part is
    /// added later), after settling the pending call's counts, which the new reading may overwrite.
    private func readCounters(into values: UnsafeMutablePointer<Double>) {
        guard let s = session else { return }
        settlePendingCounts()
        counterReads += 1
        syncPart()
        s.beginRead(into: values)
    }

    /// Completes the last reading and adds the counts of the call that ended with it (`pendingSlot`)
    /// to its slot: its end reading's workers' part arrives after the call has returned.
    private func settlePendingCounts() {
        session?.completeRead()
        guard let slot = pendingSlot else { return }
        pendingSlot = nil
        for i in 0..<vars.count {
            let j = activeNumbers[i]
            slots[slot]!.counters[j] += max(0, endValues[i] - startValues[i] - overheadValues[i])
            slots[slot]!.counterCalls[j] += 1
        }
    }

    /// Times `n` empty consecutive layer calls (median of 5 batches; each costs one counter
    /// read and two clock reads, as in a run) and keeps the per-call cost to subtract; the same
    /// for calls without a counter read (two clock reads).
    public func calibrate(pairs n: Int = 200) {
        var plain: [Double] = []
        for _ in 0..<5 {
            let t0 = monotonicNanos()
            for _ in 0..<n {
                _ = monotonicNanos()
                _ = monotonicNanos()
            }
            plain.append(Double(monotonicNanos() - t0) * 1e-9 / Double(n))
        }
        timerOverheadSeconds = plain.sorted()[plain.count / 2]
        guard session != nil else {
            overheadSeconds = timerOverheadSeconds
            return
        }
        var samples: [Double] = []
        var counts: [[String: Double]] = []
        syncPart()
        let k = vars.count
        for _ in 0..<5 {
            readCounters(into: startValues)
            session?.completeRead()
            // The caller's part of each reading, with the two clock reads of a call; the workers'
            // part completes outside the timed span, as it does while the next layer runs.
            var busy: UInt64 = 0
            for _ in 0..<n {
                let t0 = monotonicNanos()
                readCounters(into: endValues)
                busy += monotonicNanos() &- t0
                session?.completeRead()
            }
            samples.append(Double(busy) * 1e-9 / Double(n))
            var c: [String: Double] = [:]
            for i in 0..<k { c[vars[i]] = (endValues[i] - startValues[i]) / Double(n) }
            counts.append(c)
        }
        let order = samples.indices.sorted { samples[$0] < samples[$1] }
        let mid = order[order.count / 2]
        overheadSeconds = samples[mid]
        overheadCounts = counts[mid]
        part = -1
        syncPart()
    }

    public func reset() {
        pendingSlot = nil
        session?.completeRead()
        slots = []
        lastEndTime = nil
        pass = -1
    }

    /// Makes room for `slot` (the first call of a layer and phase; not on the hot path after).
    private func addSlot(_ slot: Int, _ index: Int, _ layer: Layer, _ phase: Phase) {
        if slot >= slots.count { slots += Array(repeating: nil, count: slot + 1 - slots.count) }
        var t = SlotTotals(
            index: index, name: layer.name, kerasClass: layer.kerasClass, phase: phase,
            counters: Array(repeating: 0, count: variableNames.count),
            counterCalls: Array(repeating: 0, count: variableNames.count))
        t.samples.reserveCapacity(64)
        slots[slot] = t
    }

    public func layerBegan(_ index: Int, _ layer: Layer, phase: Phase, batch: Int) {
        if index == 0 && phase == .forward { pass += 1 }
        readsThisCall = session != nil && readPlan.reads(layer: index, inPass: pass)
        guard readsThisCall else {
            lastEndTime = nil
            startTime = monotonicNanos()
            return
        }
        let now = monotonicNanos()
        let slot = index * 2 + (phase == .forward ? 0 : 1)
        let lastCall = slot < slots.count ? slots[slot].flatMap { $0.readsAtStart ? nil : $0.lastNanos } : nil
        expectedQuiet = false
        if let last = lastEndTime, now &- last < Self.quietNanos {
            settlePendingCounts()
            startValues.update(from: endValues, count: vars.count)
            startTime = last
        } else if let lastCall, lastCall < Self.quietNanos {
            // Quiet last time (a fused pooling layer, a flatten): no reading unless it runs longer.
            expectedQuiet = true
            startTime = now
        } else {
            readCounters(into: startValues)
            startTime = monotonicNanos()
        }
        lastEndTime = nil
    }

    public func layerEnded(_ index: Int, _ layer: Layer, phase: Phase, batch: Int) {
        // A call that ended within `quietNanos` of its start (a pooling layer fused into the
        // convolution before it, a flatten, dropout at inference) ran nothing a counter could see:
        // it takes no counter read (3-4 µs each on this project's VM), its counts are zero and
        // whatever the threads did meanwhile goes to the next layer's reading.
        var endTime = monotonicNanos()
        let slot = index * 2 + (phase == .forward ? 0 : 1)
        if slot >= slots.count || slots[slot] == nil { addSlot(slot, index, layer, phase) }
        slots[slot]!.lastNanos = endTime &- startTime
        guard readsThisCall else {
            add(seconds: Double(endTime - startTime) * 1e-9, batch: batch, counted: false, to: &slots[slot]!)
            return
        }
        if expectedQuiet {
            // Quiet again: zero counts. Longer this time: timed only (its start was not read).
            let quiet = endTime &- startTime < Self.quietNanos
            if !quiet { slots[slot]!.readsAtStart = true }
            settlePendingCounts()
            syncPart()
            add(
                seconds: Double(endTime - startTime) * 1e-9, batch: batch, counted: quiet, zeroCounts: true,
                to: &slots[slot]!)
            return
        }
        if vars.isEmpty || endTime &- startTime >= Self.quietNanos {
            readCounters(into: endValues)
            endTime = monotonicNanos()
        } else {
            settlePendingCounts()
            endValues.update(from: startValues, count: vars.count)
        }
        let t = Double(endTime - startTime) * 1e-9
        lastEndTime = endTime
        add(seconds: t, batch: batch, counted: true, to: &slots[slot]!)
        // Its counts once the end reading is complete (`settlePendingCounts`).
        pendingSlot = slot
    }

    /// Adds one call of `seconds` (overhead not yet subtracted) to a slot; for a call that read the
    /// counters its deltas come later (`settlePendingCounts`), and a quiet one's zero counts now.
    private func add(
        seconds t: Double, batch: Int, counted: Bool, zeroCounts: Bool = false, to s: inout SlotTotals
    ) {
        let overhead = counted && !zeroCounts ? overheadSeconds : timerOverheadSeconds
        let net = max(0, t - overhead)
        s.calls += 1
        s.images += batch
        s.seconds += net
        s.samples.append(net)
        if t < 20 * overhead { s.tooShort = true }
        guard counted else { return }
        s.countedSeconds += net
        s.countedCalls += 1
        guard zeroCounts else { return }
        for i in 0..<vars.count { s.counterCalls[activeNumbers[i]] += 1 }
    }

    /// Whether every layer call slot seen so far has counted calls for every variable (a layer that
    /// was quiet before and ran longer in its turn was timed only, and waits for its next turn).
    public var everyLayerCounted: Bool {
        settlePendingCounts()
        return slots.allSatisfy { slot in slot.map { $0.counterCalls.allSatisfy { $0 > 0 } } ?? true }
    }

    /// Records in layer order, forward before backward.
    public var ordered: [LayerRecord] {
        settlePendingCounts()
        return slots.compactMap { $0.map(record) }
    }
}
