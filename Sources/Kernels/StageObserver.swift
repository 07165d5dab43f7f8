#if canImport(Glibc)
import Glibc
#endif

/// Stages a convolution algorithm reports while it runs.
public enum ConvStage: String, CaseIterable, Codable, Sendable {
    case direct            // naive loops
    case lowering          // im2col patch copy (and bias prefill)
    case gemm              // cblas_sgemm
    case inputTransform    // Winograd B^T d B
    case outputTransform   // Winograd A^T m A (and bias)
    case filterTransform   // Winograd G g G^T, once per weight update
}

/// Told when each stage begins and ends on each worker. The runtime's hook for the profiler:
/// kernels never know who listens.
public protocol ConvStageObserver: AnyObject {
    func stageBegan(_ stage: ConvStage, worker: Int)
    func stageEnded(_ stage: ConvStage, worker: Int)
}

/// Monotonic nanoseconds.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// An observer that sums each stage's time over workers (thread-seconds).
public final class StageTimer: ConvStageObserver {
    private var started: [[UInt64]]
    private var total: [[UInt64]]
    private let stages = ConvStage.allCases

    public init(workers: Int) {
        started = Array(repeating: Array(repeating: 0, count: ConvStage.allCases.count), count: max(1, workers))
        total = started
    }

    @inline(__always) private func index(_ s: ConvStage) -> Int { stages.firstIndex(of: s)! }

    public func stageBegan(_ stage: ConvStage, worker: Int) { started[worker][index(stage)] = monotonicNanos() }
    public func stageEnded(_ stage: ConvStage, worker: Int) {
        let i = index(stage)
        total[worker][i] &+= monotonicNanos() &- started[worker][i]
    }

    public func reset() {
        for w in total.indices { for i in total[w].indices { total[w][i] = 0 } }
    }

    /// Thread-seconds per stage, summed over workers; stages that never ran are absent.
    public var seconds: [ConvStage: Double] {
        var out: [ConvStage: Double] = [:]
        for (i, s) in stages.enumerated() {
            let ns = total.reduce(UInt64(0)) { $0 + $1[i] }
            if ns > 0 { out[s] = Double(ns) * 1e-9 }
        }
        return out
    }
}
