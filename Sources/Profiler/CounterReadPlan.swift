/// Which layer calls read the counters. Every call is timed either way; a counter read is the
/// expensive part of a hook (a system call, 1 µs warm and 2-8 µs right after a layer has pushed the
/// kernel's code and data out of the caches), so a profile can spread its reads over its passes.
public enum CounterReadPlan: Sendable, Equatable {
    /// Every layer call reads the counters (consecutive layers share a reading).
    case everyCall
    /// The model's `layers` are taken in windows of `perPass` consecutive layers; every `every`-th
    /// pass (one forward, or one training step) reads the counters around the next window in turn,
    /// and the passes between read none. After a round of passes every layer has counted calls,
    /// each per-call figure the mean of the calls that read it.
    case rotating(layers: Int, perPass: Int, every: Int)

    /// The windowed plan that covers `layers` layers × `parts` counter parts in about `passes`
    /// passes (one layer a pass once `passes` allows it), reading on every `every`-th pass.
    public static func covering(layers: Int, parts: Int, in passes: Int, every: Int = 1) -> CounterReadPlan {
        let n = max(1, layers)
        let perPass = max(1, (n * max(1, parts) + max(1, passes) - 1) / max(1, passes))
        return perPass >= n && every <= 1 ? .everyCall : .rotating(layers: n, perPass: min(n, perPass), every: every)
    }

    /// How often to read so that counter reads cost about `budget` of the model's time: a pass
    /// of `passSeconds` whose turn takes `readsPerTurn` reads of `readSeconds` (a window of w
    /// consecutive layers: w + 1) reads every k-th pass, k between 1 and `most`. Reads right after
    /// a layer cost several times a warm one.
    public static func readingInterval(
        passSeconds: Double, readSeconds: Double, readsPerTurn: Int = 2, budget: Double = 0.001, most: Int = 16
    ) -> Int {
        guard passSeconds > 0, readSeconds > 0 else { return 1 }
        let cost = Double(max(1, readsPerTurn)) * readSeconds
        return min(most, max(1, Int((cost / (budget * passSeconds)).rounded(.up))))
    }

    /// `profile`'s plan: windows that cover `layers` × `parts` in about `passes` passes, read on
    /// every k-th pass so that a turn's reads (w + 1 for a window of w layers, in each of `phases`:
    /// 2 for a training step) cost about `readingInterval`'s budget of a pass of `passSeconds`.
    public static func forProfile(
        layers: Int, parts: Int, passes: Int, phases: Int, passSeconds: Double, readSeconds: Double
    ) -> CounterReadPlan {
        let window = min(max(1, layers), covering(layers: layers, parts: parts, in: passes).layersPerTurn)
        let every = readingInterval(
            passSeconds: passSeconds, readSeconds: readSeconds, readsPerTurn: (window + 1) * max(1, phases))
        return covering(layers: layers, parts: parts, in: passes, every: every)
    }

    /// Consecutive layers read in one turn (all of them for `everyCall`).
    var layersPerTurn: Int {
        switch self {
        case .everyCall: return Int.max
        case .rotating(let n, let k, _): return min(max(1, n), max(1, k))
        }
    }

    /// How many windows the plan has.
    var windows: Int {
        switch self {
        case .everyCall: return 1
        case .rotating(let n, let k, _): return (max(1, n) + max(1, k) - 1) / max(1, k)
        }
    }

    /// How many passes one round of the plan takes (every layer read once).
    public var passesPerRound: Int {
        switch self {
        case .everyCall: return 1
        case .rotating(_, _, let every): return windows * max(1, every)
        }
    }

    /// Whether layer `index` reads the counters in pass `pass`.
    public func reads(layer index: Int, inPass pass: Int) -> Bool {
        switch self {
        case .everyCall: return true
        case .rotating(_, let k, let every):
            let p = max(0, pass), e = max(1, every)
            return p % e == 0 && index / max(1, k) == (p / e) % windows
        }
    }

    /// In words, for the report's notes.
    public var text: String {
        switch self {
        case .everyCall: return "counters read around every layer call"
        case .rotating(let n, let k, let every):
            let window = k == 1 ? "one layer" : "\(k) consecutive layers"
            let when = every == 1 ? "per pass" : "every \(every) passes"
            return "counters read around \(window) \(when), in turn (\(passesPerRound) passes cover all \(n)); "
                + "every call timed"
        }
    }
}
