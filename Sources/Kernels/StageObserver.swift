#if canImport(Glibc)
    import Glibc
#endif

/// Stages a convolution algorithm reports while it runs.
public enum ConvStage: String, CaseIterable, Codable, Sendable {
    case direct  // direct loops: naive, and im2col's small-patch path (no lowering, no GEMM)
    case lowering  // im2col patch copy (and bias prefill)
    case gemm  // cblas_sgemm
    case inputTransform  // Winograd B^T d B
    case outputTransform  // Winograd A^T m A (and bias)
    case filterTransform  // Winograd G g G^T, once per weight update
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

/// An observer that sums each stage's time over workers (thread-seconds). Each worker writes
/// only its own cache-line-padded slots, so workers never share a line.
public final class StageTimer: ConvStageObserver {
    private let workers: Int
    private let stride: Int
    private let slots: UnsafeMutablePointer<UInt64>
    private static let stages = ConvStage.allCases

    public init(workers: Int) {
        self.workers = max(1, workers)
        // started + total per stage, rounded up to whole 64-byte lines per worker
        stride = (2 * Self.stages.count + 7) / 8 * 8
        slots = .allocate(capacity: self.workers * stride)
        slots.initialize(repeating: 0, count: self.workers * stride)
    }

    deinit { slots.deallocate() }

    @inline(__always) private func index(_ s: ConvStage) -> Int {
        switch s {
        case .direct: return 0
        case .lowering: return 1
        case .gemm: return 2
        case .inputTransform: return 3
        case .outputTransform: return 4
        case .filterTransform: return 5
        }
    }

    public func stageBegan(_ stage: ConvStage, worker: Int) {
        slots[worker * stride + 2 * index(stage)] = monotonicNanos()
    }

    public func stageEnded(_ stage: ConvStage, worker: Int) {
        let base = worker * stride + 2 * index(stage)
        slots[base + 1] &+= monotonicNanos() &- slots[base]
    }

    /// Thread-seconds per stage, summed over workers; stages that never ran are absent.
    public var seconds: [ConvStage: Double] {
        var out: [ConvStage: Double] = [:]
        for s in Self.stages {
            var ns: UInt64 = 0
            for w in 0..<workers { ns &+= slots[w * stride + 2 * index(s) + 1] }
            if ns > 0 { out[s] = Double(ns) * 1e-9 }
        }
        return out
    }
}
