/// Runs one job on several workers at once. Kernels split their work through this protocol,
/// so they need not know about threads or hwloc; Hardware's pinned `WorkerPool` conforms
/// (the conformance lives where both modules meet).
public protocol ParallelRunner: AnyObject {
    /// Number of workers.
    var width: Int { get }
    /// Calls `body(worker)` once for every worker in 0..<width, concurrently, and waits. A part may
    /// run on another worker's thread (a pinned pool's caller takes over a late worker's part), so a
    /// body keys its scratch by `worker`, never by thread.
    func run(_ body: (Int) -> Void)
}

/// One worker: the calling thread.
public final class SerialRunner: ParallelRunner {
    public init() {}
    public var width: Int { 1 }
    public func run(_ body: (Int) -> Void) { body(0) }
}

extension ParallelRunner {
    /// Below this many elementary operations a job runs on the calling thread: waking the
    /// workers (tens of microseconds) would cost more than it saves (batch-1 inference).
    public static var serialWorkLimit: Int { 150_000 }

    /// Splits 0..<count into `width` contiguous ranges and runs `body(worker, range)` for each
    /// non-empty one. `work` (elementary operations in total), when given and small, keeps the
    /// job on the calling thread as worker 0.
    public func parallelRanges(_ count: Int, work: Int? = nil, _ body: (Int, Range<Int>) -> Void) {
        let w = width
        if w == 1 || count <= 1 || (work.map { $0 < Self.serialWorkLimit } ?? false) {
            if count > 0 { body(0, 0..<count) }
            return
        }
        run { worker in
            let lo = count * worker / w, hi = count * (worker + 1) / w
            if hi > lo { body(worker, lo..<hi) }
        }
    }
}
