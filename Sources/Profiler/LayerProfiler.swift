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
    public private(set) var records: [String: LayerRecord] = [:]
    public var convStageObserver: ConvStageObserver?
    /// Measured cost of one begin/end pair with nothing in between.
    public private(set) var overheadSeconds: Double = 0
    public private(set) var overheadCounts: [String: Double] = [:]
    private var startTime: UInt64 = 0
    private var startCounts: [String: (value: Double, scale: Double)] = [:]
    /// The last layer's end reading: a layer that begins right after it (within 5 µs) starts
    /// from it, so consecutive layers cost one counter read each instead of two.
    private var lastEnd: (time: UInt64, counts: [String: (value: Double, scale: Double)])?

    public init(session: CounterSession?, stageObserver: ConvStageObserver? = nil) {
        self.session = session
        convStageObserver = stageObserver
    }

    /// Times `n` empty consecutive layer calls (median of 5 batches; each costs one counter
    /// read and two clock reads, as in a run) and keeps the per-call cost to subtract.
    public func calibrate(pairs n: Int = 200) {
        var samples: [Double] = []
        var counts: [[String: Double]] = []
        for _ in 0..<5 {
            let c0 = session?.read() ?? [:]
            let t0 = monotonicNanos()
            for _ in 0..<n {
                _ = monotonicNanos()
                _ = session?.read()
                _ = monotonicNanos()
            }
            samples.append(Double(monotonicNanos() - t0) * 1e-9 / Double(n))
            let c1 = session?.read() ?? [:]
            counts.append(c1.mapValues(\.value).merging(c0.mapValues { -$0.value }, uniquingKeysWith: +).mapValues { $0 / Double(n) })
        }
        let order = samples.indices.sorted { samples[$0] < samples[$1] }
        let mid = order[order.count / 2]
        overheadSeconds = samples[mid]
        overheadCounts = counts[mid]
    }

    public func reset() { records = [:]; lastEnd = nil }

    public func layerBegan(_ index: Int, _ layer: Layer, phase: Phase, batch: Int) {
        let now = monotonicNanos()
        if let last = lastEnd, now &- last.time < 5_000 {
            startCounts = last.counts
            startTime = last.time
        } else {
            startCounts = session?.read() ?? [:]
            startTime = monotonicNanos()
        }
        lastEnd = nil
    }

    public func layerEnded(_ index: Int, _ layer: Layer, phase: Phase, batch: Int) {
        let end = session?.read() ?? [:]
        let endTime = monotonicNanos()
        let t = Double(endTime - startTime) * 1e-9
        lastEnd = (endTime, end)
        let key = "\(index)/\(phase.rawValue)"
        var r = records[key] ?? LayerRecord(index: index, name: layer.name, kerasClass: layer.kerasClass, phase: phase, calls: 0,
                                            seconds: 0, images: 0, counters: [:], counterCalls: [:], tooShort: false, samples: [])
        r.calls += 1
        r.images += batch
        r.seconds += max(0, t - overheadSeconds)
        r.samples.append(max(0, t - overheadSeconds))
        if t < 20 * overheadSeconds { r.tooShort = true }
        for (v, e) in end {
            let d = e.value - (startCounts[v]?.value ?? 0) - (overheadCounts[v] ?? 0)
            r.counters[v, default: 0] += max(0, d)
            r.counterCalls[v, default: 0] += 1
        }
        records[key] = r
    }

    /// Records in layer order, forward before backward.
    public var ordered: [LayerRecord] {
        records.values.sorted { ($0.index, $0.phase == .forward ? 0 : 1) < ($1.index, $1.phase == .forward ? 0 : 1) }
    }
}
