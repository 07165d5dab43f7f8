import CPerfShim

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of worker threads, each bound to a processing unit through hwloc (or unbound).
/// `run` hands every worker the same job with its own index and returns when all are done;
/// the caller's thread only waits. Kernels see this through the `ParallelRunner` protocol
/// (declared in Tensor), so they never depend on hwloc.
public final class WorkerPool: @unchecked Sendable {
    public let width: Int
    public let policy: BindPolicy
    /// The processing unit of each worker (nil when unbound).
    public let placement: [Int?]
    /// Binding failures, one line per worker that could not be bound (the worker still runs).
    public private(set) var bindingWarnings: [String] = []
    /// Each worker's kernel thread id (for per-thread counters), in the order the workers started.
    public private(set) var threadIDs: [Int32] = []
    /// Worker index -> kernel thread id.
    public private(set) var threadIDByWorker: [Int32] = []

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let startCond: UnsafeMutablePointer<pthread_cond_t>
    private let doneCond: UnsafeMutablePointer<pthread_cond_t>
    /// Two atomic words: [0] the current job's number (bumped by every `run`), [1] how many
    /// workers have yet to finish it. A worker that has finished a job watches word 0 for a
    /// moment (`spinMicroseconds`) before sleeping on the condition variable: waking a sleeping
    /// thread costs tens of microseconds on a VM, and a model at batch 1 hands the pool a job
    /// per layer (MobileNetV2: about sixty per image).
    private let words: UnsafeMutablePointer<Int>
    private var generation: UnsafeMutablePointer<Int> { words }
    private var remaining: UnsafeMutablePointer<Int> { words + 1 }
    /// How long a worker watches for the next job before it sleeps (0: it sleeps at once).
    public let spinMicroseconds: Int
    private var stopping = false
    private var job: ((Int) -> Void)?
    private var epilogue: ((Int) -> Void)?
    private var threads: [pthread_t] = []
    private var readyCount = 0

    public init(threads count: Int, policy: BindPolicy, topology: HwlocTopology?, spinMicroseconds: Int = 50) {
        width = max(1, count)
        self.policy = policy
        self.spinMicroseconds = max(0, spinMicroseconds)
        words = .allocate(capacity: 2)
        words.initialize(repeating: 0, count: 2)
        let topo = topology?.snapshot()
        placement =
            topo.map { policy.placement(workers: max(1, count), topology: $0) }
            ?? Array(repeating: nil, count: max(1, count))
        mutex = .allocate(capacity: 1)
        startCond = .allocate(capacity: 1)
        doneCond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(startCond, nil)
        pthread_cond_init(doneCond, nil)
        for w in 0..<width {
            let ctx = WorkerContext(pool: self, index: w, pu: placement[w], topology: topology)
            let box = Unmanaged.passRetained(ctx).toOpaque()
            var tid = pthread_t()
            let rc = pthread_create(
                &tid, nil,
                { raw in
                    let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                    ctx.pool.workerMain(ctx)
                    return nil
                }, box)
            precondition(rc == 0, "pthread_create failed with \(rc)")
            threads.append(tid)
        }
        // Wait until every worker has tried its binding, so warnings are complete.
        pthread_mutex_lock(mutex)
        while readyCount < width { pthread_cond_wait(doneCond, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Runs `f(worker)` on each worker right after its part of every job, before `run` returns
    /// (nil removes it). The profiler reads each worker's own counters there: reading another
    /// thread's counters while it is still running costs an interprocessor interrupt (measured
    /// 90 µs on a VM against 1.5 µs for a thread reading its own).
    public func setJobEpilogue(_ f: ((Int) -> Void)?) {
        pthread_mutex_lock(mutex)
        epilogue = f
        pthread_mutex_unlock(mutex)
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(startCond)
        pthread_mutex_unlock(mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(startCond)
        pthread_cond_destroy(doneCond)
        words.deallocate()
        mutex.deallocate()
        startCond.deallocate()
        doneCond.deallocate()
    }

    private final class WorkerContext {
        let pool: WorkerPool
        let index: Int
        let pu: Int?
        let topology: HwlocTopology?
        init(pool: WorkerPool, index: Int, pu: Int?, topology: HwlocTopology?) {
            self.pool = pool; self.index = index; self.pu = pu; self.topology = topology
        }
    }

    private func workerMain(_ ctx: WorkerContext) {
        var warning: String?
        if let pu = ctx.pu, let topo = ctx.topology {
            do { try topo.bindCurrentThread(toPU: pu) } catch { warning = "worker \(ctx.index): \(error)" }
        }
        let tid = cnns_gettid()
        pthread_mutex_lock(mutex)
        if let warning { bindingWarnings.append(warning) }
        threadIDs.append(tid)
        if threadIDByWorker.count < width { threadIDByWorker = Array(repeating: 0, count: width) }
        threadIDByWorker[ctx.index] = tid
        readyCount += 1
        pthread_cond_broadcast(doneCond)
        var seen = 0
        while true {
            if cnns_atomic_load(generation) == seen && !stopping {
                pthread_mutex_unlock(mutex)
                watchForNextJob(after: seen)
                pthread_mutex_lock(mutex)
            }
            while cnns_atomic_load(generation) == seen && !stopping { pthread_cond_wait(startCond, mutex) }
            if stopping { break }
            seen = cnns_atomic_load(generation)
            do {
                // The job is released before this worker reports done: `run` checks with
                // withoutActuallyEscaping that no worker still holds the caller's closure.
                let work = job!
                let after = epilogue
                pthread_mutex_unlock(mutex)
                work(ctx.index)
                after?(ctx.index)
            }
            // The last worker to finish wakes the caller (under the mutex, so the wake-up cannot
            // fall between the caller's check and its wait).
            if cnns_atomic_sub(remaining, 1) == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(doneCond)
                pthread_mutex_unlock(mutex)
            }
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Watches for a job after `seen` for up to `spinMicroseconds`, yielding the processor now
    /// and then (the caller's thread may share it). Whatever it sees is checked again under the
    /// mutex before the worker sleeps.
    private func watchForNextJob(after seen: Int) {
        guard spinMicroseconds > 0 else { return }
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        var steps = 0
        while cnns_atomic_load(generation) == seen {
            cnns_spin_pause()
            steps += 1
            if steps % 64 == 0 {
                clock_gettime(CLOCK_MONOTONIC, &now)
                let elapsed = (now.tv_sec - start.tv_sec) * 1_000_000 + (now.tv_nsec - start.tv_nsec) / 1000
                if elapsed >= spinMicroseconds { return }
                sched_yield()
            }
        }
    }

    /// Runs `body(worker)` once on every worker, concurrently, and waits for all of them.
    public func run(_ body: (Int) -> Void) {
        if width == 1 && placement[0] == nil { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            pthread_mutex_lock(mutex)
            job = escaping
            cnns_atomic_store(remaining, width)
            cnns_atomic_store(generation, cnns_atomic_load(generation) + 1)
            pthread_cond_broadcast(startCond)
            while cnns_atomic_load(remaining) > 0 { pthread_cond_wait(doneCond, mutex) }
            job = nil
            pthread_mutex_unlock(mutex)
        }
    }
}
