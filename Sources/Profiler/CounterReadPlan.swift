/// Which layer calls read the counters. Every call is timed either way; a counter read is the
/// expensive part of a hook (a system call, 1 µs warm and 2-5 µs right after a layer has pushed the
/// kernel's code and data out of the caches), so a profile can spread its reads over its passes.
public enum CounterReadPlan: Sendable, Equatable {
    /// Every layer call reads the counters (consecutive layers share a reading).
    case everyCall
    /// The model's `layers` are taken in windows of `perPass` consecutive layers; pass p (one
    /// forward, or one training step) reads the counters around window p mod (number of windows)
    /// only. After that many passes every layer has counted calls, each per-call figure the mean
    /// of the calls that read it.
    case rotating(layers: Int, perPass: Int)

    /// The windowed plan that covers `layers` layers × `parts` counter parts in about `passes`
    /// passes (one layer a pass once `passes` allows it).
    public static func covering(layers: Int, parts: Int, in passes: Int) -> CounterReadPlan {
        let n = max(1, layers)
        let perPass = max(1, (n * max(1, parts) + max(1, passes) - 1) / max(1, passes))
        return perPass >= n ? .everyCall : .rotating(layers: n, perPass: perPass)
    }

    /// How many passes one round of the plan takes (every layer read once).
    public var passesPerRound: Int {
        switch self {
        case .everyCall: return 1
        case .rotating(let n, let k): return (max(1, n) + max(1, k) - 1) / max(1, k)
        }
    }

    /// Whether layer `index` reads the counters in pass `pass`.
    public func reads(layer index: Int, inPass pass: Int) -> Bool {
        switch self {
        case .everyCall: return true
        case .rotating(_, let k): return index / max(1, k) == max(0, pass) % passesPerRound
        }
    }

    /// In words, for the report's notes.
    public var text: String {
        switch self {
        case .everyCall: return "counters read around every layer call"
        case .rotating(let n, let k):
            return """
                counters read around \(k == 1 ? "one layer" : "\(k) consecutive layers") per pass, in turn \
                (\(passesPerRound) passes cover all \(n)); every call timed
                """
        }
    }
}
