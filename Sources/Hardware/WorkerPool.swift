import CPerfShim

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of workers, each bound to a processing unit through hwloc (or unbound). Worker 0
/// is the thread that makes the pool (bound to its unit while the pool lives; its earlier binding
/// comes back when the pool goes away on that thread); workers 1..<width are threads of their own.
/// `run` hands every worker the same job with its own index, runs worker 0's part on the calling
/// thread, and returns when all are done: one thread per processing unit, and no wake-up of a
/// waiting caller at the end of each job (that took 12-16 µs per job on a VM; an empty job takes
/// 1-2 µs). Kernels see this through the `ParallelRunner` protocol (declared in Tensor), so they
/// never depend on hwloc.
public final class WorkerPool: @unchecked Sendable {
    public let width: Int
    public let policy: BindPolicy
    /// The processing unit of each worker (nil when unbound).
    public let placement: [Int?]
    /// How long a worker watches for the next job before it sleeps (0: it sleeps at once), and how
    /// long the caller watches the others finish before it sleeps.
    public let spinMicroseconds: Int
    /// Binding failures, one line per worker that could not be bound (the worker still runs).
    public var bindingWarnings: [String] { core.locked { core.bindingWarnings } }
    /// The kernel thread ids of the pool's own threads (workers 1..<width, for per-thread counters),
    /// in the order they started; worker 0 is the caller's thread.
    public var threadIDs: [Int32] { core.locked { core.threadIDs } }
    /// Worker index -> kernel thread id (worker 0: the thread that made the pool).
    public var threadIDByWorker: [Int32] { core.locked { core.threadIDByWorker } }

    /// What the threads share with the caller. They hold the core, never the pool, so that the pool
    /// goes away when its last user lets go of it (its deinit stops and joins them).
    private let core: WorkerPoolCore
    private var threads: [pthread_t] = []
    /// The thread that made the pool, and the units it was bound to before.
    private let owner: pthread_t
    private var ownerBinding: [Int]?
    private let topology: HwlocTopology?

    public init(threads count: Int, policy: BindPolicy, topology: HwlocTopology?, spinMicroseconds: Int = 50) {
        width = max(1, count)
        self.policy = policy
        self.spinMicroseconds = max(0, spinMicroseconds)
        self.topology = topology
        placement =
            topology.map { policy.placement(workers: max(1, count), topology: $0.snapshot()) }
            ?? Array(repeating: nil, count: max(1, count))
        core = WorkerPoolCore(width: width, spinMicroseconds: self.spinMicroseconds)
        // Worker 0 is the calling thread: it runs its part of every job itself.
        owner = pthread_self()
        if let pu = placement[0], let topology {
            ownerBinding = try? topology.currentThreadBinding()
            do { try topology.bindCurrentThread(toPU: pu) } catch { core.bindingWarnings.append("worker 0: \(error)") }
        }
        core.threadIDByWorker[0] = cnns_gettid()
        for w in 1..<width {
            let start = WorkerPoolCore.Start(core: core, index: w, pu: placement[w], topology: topology)
            let box = Unmanaged.passRetained(start).toOpaque()
            var tid = pthread_t()
            let rc = pthread_create(
                &tid, nil,
                { raw in
                    let start = Unmanaged<WorkerPoolCore.Start>.fromOpaque(raw!).takeRetainedValue()
                    start.core.workerMain(start)
                    return nil
                }, box)
            precondition(rc == 0, "pthread_create failed with \(rc)")
            threads.append(tid)
        }
        core.waitUntilReady()
    }

    /// Runs `read(worker)` once for each of the pool's own threads (workers 1..<width) and returns
    /// when all have run; worker 0, the caller, reads its own counters when it likes. A worker that
    /// is watching for its next job runs its `read` itself: reading another thread's counters while
    /// it runs costs an interprocessor interrupt (measured 90 µs on a VM, against 1.5 µs for a
    /// thread reading its own). For a worker that sleeps the caller runs it, since a thread that is
    /// not running needs no interrupt. `meanwhile` runs on the caller once the request is out (the
    /// caller's own read, in parallel with the workers'). Call it between jobs, from the thread that
    /// calls `run`: the profiler reads the workers' counters this way at each layer's end, not
    /// after every job.
    public func readWorkers(_ read: (Int) -> Void, meanwhile: () -> Void = {}) {
        if width == 1 { meanwhile(); return }
        withoutActuallyEscaping(read) { escaping in
            core.postReads(escaping)
            meanwhile()
            core.awaitReads()
        }
    }

    /// `readWorkers` without the wait: publishes `read` and returns at once (after running it here
    /// for a worker that sleeps). Each of the pool's own threads runs its `read` as soon as it sees
    /// the request, and always before it starts its part of the next job, so what it reads is where
    /// its counters stood between the jobs. `awaitReads` waits until every worker's has run; a new
    /// request first waits for the previous one. Call both from the thread that calls `run`.
    public func postReads(_ read: @escaping (Int) -> Void) {
        if width == 1 { return }
        core.postReads(read)
    }

    /// Waits until every worker has run the latest `postReads` request (nothing pending: returns).
    public func awaitReads() {
        if width == 1 { return }
        core.awaitReads()
    }

    deinit {
        core.awaitReads()
        core.stop()
        for t in threads { pthread_join(t, nil) }
        if let units = ownerBinding, let topology, pthread_equal(owner, pthread_self()) != 0 {
            try? topology.bindCurrentThread(toPUs: units)
        }
    }

    /// The kernel thread id of the calling thread (gettid).
    public static var currentThreadID: Int32 { cnns_gettid() }

    /// Runs `body(worker)` once on every worker, concurrently (worker 0 on the calling thread), and
    /// waits for all of them. A part that its worker has not begun when the caller has finished its
    /// own runs on the caller instead (each part still runs once): a worker whose virtual CPU the
    /// host has taken away for a while (steal time on a busy VM) no longer holds up the job, and a
    /// job too small to be worth waking a sleeping worker for runs on the caller.
    public func run(_ body: (Int) -> Void) {
        if width == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in core.run(escaping, takeLateParts: true) }
    }

    /// `run` with every part on its own worker's thread, however late that worker is: for what
    /// measures threads side by side (the ceilings, the compute peak), which a part taken over by the
    /// caller would turn into one thread's figure, and for what must run on a given thread.
    public func runOnOwnThreads(_ body: (Int) -> Void) {
        if width == 1 { body(0); return }
        withoutActuallyEscaping(body) { escaping in core.run(escaping, takeLateParts: false) }
    }
}

/// The state a `WorkerPool`'s threads share with its caller: the job, the lock and conditions,
/// and two atomic words.
final class WorkerPoolCore: @unchecked Sendable {
    let width: Int
    let spinMicroseconds: Int
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    let startCond: UnsafeMutablePointer<pthread_cond_t>
    let doneCond: UnsafeMutablePointer<pthread_cond_t>
    /// Two atomic words: [0] the current job's number (bumped by every `run`), [1] how many of the
    /// pool's threads have yet to finish it. A worker that has finished a job watches word 0 for a
    /// moment (`spinMicroseconds`) before sleeping on the condition variable: waking a sleeping
    /// thread costs tens of microseconds on a VM, and a model at batch 1 hands the pool a job per
    /// layer or two (MobileNetV2: about forty per image).
    let words: UnsafeMutablePointer<Int>
    var generation: UnsafeMutablePointer<Int> { words }
    var remaining: UnsafeMutablePointer<Int> { words + 1 }
    /// The read hand-off (`readWorkers`): [2] the number of the latest read request; per worker w,
    /// [3 + 4w] the request it (or the caller, for it) claimed, [4 + 4w] the request whose read
    /// has run, [5 + 4w] 1 while it sleeps or is about to. Whoever claims a request by
    /// compare-and-swap runs that worker's read, so it runs exactly once. [6 + 4w]: the latest job
    /// whose part w was claimed, by worker w or by the caller (`run` taking late parts), the same
    /// way: whoever claims it runs it.
    var request: UnsafeMutablePointer<Int> { words + 2 }
    func claimed(_ w: Int) -> UnsafeMutablePointer<Int> { words + 3 + 4 * w }
    func served(_ w: Int) -> UnsafeMutablePointer<Int> { words + 4 + 4 * w }
    func asleep(_ w: Int) -> UnsafeMutablePointer<Int> { words + 5 + 4 * w }
    func part(_ w: Int) -> UnsafeMutablePointer<Int> { words + 6 + 4 * w }
    /// The current read, set by the caller before it publishes a request and cleared after every
    /// worker's read has run.
    var read: ((Int) -> Void)?
    // Under the mutex:
    var stopping = false
    var job: ((Int) -> Void)?
    var readyCount = 0
    var bindingWarnings: [String] = []
    var threadIDs: [Int32] = []
    var threadIDByWorker: [Int32]

    /// What a new thread needs to start: its core, index and unit.
    final class Start {
        let core: WorkerPoolCore
        let index: Int
        let pu: Int?
        let topology: HwlocTopology?
        init(core: WorkerPoolCore, index: Int, pu: Int?, topology: HwlocTopology?) {
            self.core = core; self.index = index; self.pu = pu; self.topology = topology
        }
    }

    init(width: Int, spinMicroseconds: Int) {
        self.width = width
        self.spinMicroseconds = spinMicroseconds
        threadIDByWorker = Array(repeating: 0, count: width)
        words = .allocate(capacity: 3 + 4 * width)
        words.initialize(repeating: 0, count: 3 + 4 * width)
        mutex = .allocate(capacity: 1)
        startCond = .allocate(capacity: 1)
        doneCond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(startCond, nil)
        pthread_cond_init(doneCond, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(startCond)
        pthread_cond_destroy(doneCond)
        words.deallocate()
        mutex.deallocate()
        startCond.deallocate()
        doneCond.deallocate()
    }

    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Waits until every thread has tried its binding, so warnings are complete.
    func waitUntilReady() {
        pthread_mutex_lock(mutex)
        while readyCount < width - 1 { pthread_cond_wait(doneCond, mutex) }
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(startCond)
        pthread_mutex_unlock(mutex)
    }

    func workerMain(_ start: Start) {
        var warning: String?
        if let pu = start.pu, let topo = start.topology {
            do { try topo.bindCurrentThread(toPU: pu) } catch { warning = "worker \(start.index): \(error)" }
        }
        let index = start.index
        let tid = cnns_gettid()
        pthread_mutex_lock(mutex)
        if let warning { bindingWarnings.append(warning) }
        threadIDs.append(tid)
        threadIDByWorker[index] = tid
        readyCount += 1
        pthread_cond_broadcast(doneCond)
        var seen = 0
        while true {
            if cnns_atomic_load(generation) == seen && !stopping {
                pthread_mutex_unlock(mutex)
                watchForNextJob(after: seen, worker: index)
                pthread_mutex_lock(mutex)
            }
            while cnns_atomic_load(generation) == seen && !stopping {
                // From here the caller may run this worker's reads itself; one that came before
                // this store is served here (the caller saw this worker awake).
                cnns_atomic_store_seq_cst(asleep(index), 1)
                pthread_mutex_unlock(mutex)
                serveRead(worker: index)
                pthread_mutex_lock(mutex)
                if cnns_atomic_load(generation) == seen && !stopping { pthread_cond_wait(startCond, mutex) }
                cnns_atomic_store_seq_cst(asleep(index), 0)
            }
            if stopping { break }
            seen = cnns_atomic_load(generation)
            // A part the caller took over (this worker came late) is done or under way there: the
            // job is not this worker's to touch, and the caller counts that part itself.
            guard claim(part: index, job: seen) else { continue }
            do {
                // The job is released before this worker reports done: `run` checks with
                // withoutActuallyEscaping that no worker still holds the caller's closure.
                let work = job!
                pthread_mutex_unlock(mutex)
                // A read posted before this job is served before it (`postReads`).
                serveRead(worker: index)
                work(index)
            }
            // The last thread to finish wakes the caller if it sleeps (under the mutex, so the
            // wake-up cannot fall between the caller's check and its wait).
            if cnns_atomic_sub(remaining, 1) == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(doneCond)
                pthread_mutex_unlock(mutex)
            }
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Runs `job` on every worker, worker 0 on the calling thread, and returns when all are done;
    /// with `takeLateParts`, the caller then claims and runs every part whose worker has not.
    func run(_ job: @escaping (Int) -> Void, takeLateParts: Bool) {
        pthread_mutex_lock(mutex)
        self.job = job
        cnns_atomic_store(remaining, width - 1)
        let g = cnns_atomic_load(generation) + 1
        cnns_atomic_store(generation, g)
        pthread_cond_broadcast(startCond)
        pthread_mutex_unlock(mutex)
        let t0 = takeLateParts ? Self.microseconds() : 0
        job(0)
        if takeLateParts {
            // A worker that is only a little late (waking from its sleep) still takes its part: the
            // caller gives the workers half as long again as its own part took before it takes over.
            let own = Self.microseconds() - t0
            watch(for: own / 2) { (1..<self.width).contains { cnns_atomic_load(self.part($0)) != g } }
            for w in 1..<width where claim(part: w, job: g) {
                // The worker's pending read runs before its part, as on its own thread: here, or
                // (when the worker has begun it) there, waited for.
                serveRead(worker: w)
                let r = cnns_atomic_load_seq_cst(request)
                while cnns_atomic_load(served(w)) != r { cnns_spin_pause() }
                job(w)
                _ = cnns_atomic_sub(remaining, 1)
            }
        }
        watch(for: spinMicroseconds) { cnns_atomic_load(self.remaining) > 0 }
        pthread_mutex_lock(mutex)
        while cnns_atomic_load(remaining) > 0 { pthread_cond_wait(doneCond, mutex) }
        self.job = nil
        pthread_mutex_unlock(mutex)
    }

    /// Watches for a job after `seen` for up to `spinMicroseconds`, serving read requests and
    /// yielding the processor now and then (another thread may share it). Whatever it sees is
    /// checked again under the mutex before the worker sleeps.
    func watchForNextJob(after seen: Int, worker w: Int) {
        watch(for: spinMicroseconds, yielding: true) {
            self.serveRead(worker: w)
            return cnns_atomic_load(self.generation) == seen
        }
    }

    /// Runs worker `w`'s read on this thread if a request is pending and nobody has claimed it.
    /// The read closure is touched only once the request is claimed: the caller waits for it then,
    /// so no worker holds the closure after `readWorkers` returns.
    func serveRead(worker w: Int) {
        let r = cnns_atomic_load_seq_cst(request)
        guard claim(worker: w, request: r) else { return }
        read?(w)
        cnns_atomic_store(served(w), r)
    }

    /// Claims request `r` for worker `w` by compare-and-swap: whoever claims it runs that worker's
    /// read, so it runs exactly once. Claims only move forward: a thread that loaded an older
    /// request number before a newer one was claimed cannot claim it again over the newer one.
    func claim(worker w: Int, request r: Int) -> Bool {
        let c = cnns_atomic_load(claimed(w))
        return c < r && cnns_atomic_cas(claimed(w), c, r) != 0
    }

    /// Claims part `w` of job `g` by compare-and-swap: worker w and the caller both try, and whoever
    /// claims it runs it, so it runs exactly once.
    func claim(part w: Int, job g: Int) -> Bool {
        let c = cnns_atomic_load(part(w))
        return c < g && cnns_atomic_cas(part(w), c, g) != 0
    }

    /// Publishes a read request (after the previous one has been served everywhere) and runs it
    /// here for each worker that sleeps; the awake ones serve it themselves.
    func postReads(_ f: @escaping (Int) -> Void) {
        awaitReads()
        read = f
        let r = cnns_atomic_load(request) + 1
        cnns_atomic_store_seq_cst(request, r)
        for w in 1..<width where cnns_atomic_load_seq_cst(asleep(w)) != 0 && claim(worker: w, request: r) {
            f(w)
            cnns_atomic_store(served(w), r)
        }
    }

    /// Waits until every worker's read of the latest request has run, running it here for a worker
    /// that has gone to sleep meanwhile; then lets go of the read.
    func awaitReads() {
        guard let f = read else { return }
        let r = cnns_atomic_load(request)
        for w in 1..<width {
            while cnns_atomic_load(served(w)) != r {
                if cnns_atomic_load_seq_cst(asleep(w)) != 0 && claim(worker: w, request: r) {
                    f(w)
                    cnns_atomic_store(served(w), r)
                } else {
                    cnns_spin_pause()
                }
            }
        }
        read = nil
    }

    /// Microseconds on the monotonic clock.
    static func microseconds() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t.tv_sec * 1_000_000 + t.tv_nsec / 1000
    }

    /// Spins while `condition` holds, for up to `limit` microseconds, yielding the processor now and
    /// then when asked (a worker may share its unit; the caller, which has its own, does not yield).
    private func watch(for limit: Int, yielding: Bool = false, while condition: () -> Bool) {
        guard limit > 0 else { return }
        let start = Self.microseconds()
        var steps = 0
        while condition() {
            cnns_spin_pause()
            steps += 1
            if steps % 64 == 0 {
                if Self.microseconds() - start >= limit { return }
                if yielding { sched_yield() }
            }
        }
    }
}
