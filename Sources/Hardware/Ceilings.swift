import CMicrokernels

#if canImport(Glibc)
    import Glibc
#endif

/// One measured bandwidth: a kernel over a working set sized for one memory level.
public struct BandwidthCeiling: Codable, Equatable, Sendable {
    /// "L1", "L2", "L3" or "DRAM".
    public var level: String
    /// "load", "copy" or "triad".
    public var kernel: String
    public var threads: Int
    /// Bytes per thread.
    public var workingSetBytes: Int
    /// Median GB/s (1e9 bytes) over the trials, all threads together.
    public var gbPerSecond: Double
    public var minGBPerSecond: Double
    public var maxGBPerSecond: Double
    /// The vector width of the kernel's loads and stores: "avx512", "avx2" or "sse" (absent in
    /// records measured before it was kept, all "avx2" or "sse").
    public var isa: String?
    /// The streams a `load` read per thread: 2 or 1, whichever read more in the caches (1 in DRAM);
    /// absent for copy and triad, and in records measured before it was kept.
    public var streams: Int?
    /// A cache's `load` over one stream, median GB/s, where it was measured beside two streams: the
    /// figure that reads as likwid-bench's load kernels do (one stream a thread), to check the
    /// method against them; the roof is `gbPerSecond`. Absent elsewhere, and in older records.
    public var oneStreamGBPerSecond: Double?

    public init(
        level: String, kernel: String, threads: Int, workingSetBytes: Int, gbPerSecond: Double,
        minGBPerSecond: Double, maxGBPerSecond: Double, isa: String? = nil
    ) {
        self.isa = isa
        self.level = level; self.kernel = kernel; self.threads = threads; self.workingSetBytes = workingSetBytes
        self.gbPerSecond = gbPerSecond; self.minGBPerSecond = minGBPerSecond; self.maxGBPerSecond = maxGBPerSecond
    }
}

/// The vector width the bandwidth kernels use: the kernels' own (`CPUFeatures.bestKernelISA`), so
/// that a roof is what loads and stores of that width reach: a core that runs 512-bit loads at full
/// width (Zen 5) reads twice the bytes a cycle from L1 that 256-bit loads do.
public enum BandwidthISA: String, Sendable {
    case sse, avx2, avx512

    public init(features: CPUFeatures) {
        if features.bestKernelISA == "avx512" {
            self = .avx512
        } else {
            self = features.flags.contains("avx2") ? .avx2 : .sse
        }
    }

    /// In words, for the method line.
    public var text: String { self == .avx512 ? "AVX-512" : (self == .avx2 ? "AVX2" : "SSE") }

    /// The microkernels of this width: `load` over two streams (the caches), `loadOneStream` (DRAM),
    /// `copy` and `triad` (SSE has one load kernel for both).
    var kernels:
        (
            load: (UnsafePointer<Float>?, Int64, Int64) -> Float,
            loadOneStream: (UnsafePointer<Float>?, Int64, Int64) -> Float,
            copy: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64, Int64) -> Float,
            triad: (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int64, Int64) -> Float
        )
    {
        switch self {
        case .avx512: return (cnns_load_avx512, cnns_load_one_stream_avx512, cnns_copy_avx512, cnns_triad_avx512)
        case .avx2: return (cnns_load_avx2, cnns_load_one_stream_avx2, cnns_copy_avx2, cnns_triad_avx2)
        case .sse: return (cnns_load_sse, cnns_load_sse, cnns_copy_sse, cnns_triad_sse)
        }
    }
}

/// The machine's ceilings, each measured by a microbenchmark here.
public struct MachineCeilings: Codable, Sendable {
    /// FMA-only microkernel: what convolution inner loops can reach.
    public var fma: ComputePeak
    /// Mixed FMA + add microkernel, FLOPs counted as executed (an FMA is 2, an add 1).
    public var mixedPerThreadGFLOPs: Double
    public var mixedAllThreadsGFLOPs: Double
    public var bandwidth: [BandwidthCeiling]
    public var method: String
    /// One compute ceiling per ISA (scalar FMA, AVX2 FMA, AVX-512 FMA where present).
    public var computeByISA: [ComputePeak]?
    /// The version of the measuring method (`currentMethodVersion` when measured now; absent in
    /// records measured before versions were kept). A cached record of another version is measured
    /// again rather than trusted.
    public var methodVersion: Int?
    /// 2: DRAM `load` over one stream (likwid's method; two streams read 13-15% higher there).
    /// 3: compute ceilings are the best trial, and the all-threads rate is all workers' FLOPs over the wall time
    /// of the job (a VM's host that ran both virtual CPUs on one core had halved the two-thread median).
    /// 4: bandwidth trials are timed the same way, from handing out the job to the last thread's finish,
    /// and a private cache's all-threads figure under 70% of threads x one thread is measured again.
    /// 5: bandwidth kernels of the kernels' own vector width (AVX-512 where they run AVX-512).
    /// 6: `load` in the caches is the better of two streams and one, their trials interleaved (two
    /// threads in Zen 5's shared L3 read 6% more over one stream each; one thread 6% more over two).
    public static let currentMethodVersion = 6

    public init(
        fma: ComputePeak, mixedPerThreadGFLOPs: Double, mixedAllThreadsGFLOPs: Double, bandwidth: [BandwidthCeiling],
        method: String
    ) {
        self.fma = fma; self.mixedPerThreadGFLOPs = mixedPerThreadGFLOPs;
        self.mixedAllThreadsGFLOPs = mixedAllThreadsGFLOPs
        self.bandwidth = bandwidth; self.method = method
    }

    /// The FMA ceiling of kernels capped at `isa` (scalar, avx2, avx512): that ISA's microkernel
    /// among `computeByISA`, else the roof `fma` (a record without them, or an ISA it lacks).
    public func fma(isa: String) -> ComputePeak {
        let prefix = ComputePeakProbe.fmaKernelPrefix(isa: isa)
        return computeByISA?.first { $0.kernel.hasPrefix(prefix) } ?? fma
    }

    public func bandwidth(level: String, kernel: String = "load", allThreads: Bool) -> BandwidthCeiling? {
        let cands = bandwidth.filter { $0.level == level && $0.kernel == kernel }
        return allThreads ? cands.max { $0.threads < $1.threads } : cands.min { $0.threads < $1.threads }
    }
}

public enum CeilingProbe {
    /// The working set per thread for each level: half of a private cache, a quarter of a
    /// shared one divided among its threads, and 512 MiB (at least 16x the L3) for DRAM.
    public static func workingSets(_ t: Topology, threads: Int) -> [(String, Int)] {
        var out: [(String, Int)] = []
        var last = 0
        for c in t.caches.sorted(by: { $0.level < $1.level }) {
            let shared = c.sharedBy.count > 1
            let sharers = shared ? max(1, min(threads, c.sharedBy.count)) : 1
            let ws = (shared ? c.sizeBytes / 4 : c.sizeBytes / 2) / sharers
            out.append(("L\(c.level)", max(4096, ws / 4096 * 4096)))
            last = max(last, c.sizeBytes)
        }
        out.append(("DRAM", max(512 << 20, 16 * last)))
        return out
    }

    /// The names of the levels whose bandwidth is measured on `t`: its cache levels, then DRAM.
    public static func levelNames(_ t: Topology) -> [String] {
        workingSets(t, threads: 1).map(\.0)
    }

    /// Measures the compute and bandwidth ceilings for one thread and for `pool.width` pinned threads.
    /// With `levels` (names from `levelNames`), the bandwidth of those levels only: a partial record, for
    /// checking one level against another tool seconds apart, not for the machine cache.
    public static func measure(
        topology: Topology, features: CPUFeatures, pool: WorkerPool,
        kernels: [String] = ["load", "copy", "triad"], trials: Int = 5, levels: Set<String>? = nil
    ) -> MachineCeilings {
        let avx2 = features.flags.contains("avx2")
        let width = BandwidthISA(features: features)
        // One compute ceiling per ISA; the roof is the widest the kernels use by default (AVX-512
        // FMA where they have AVX-512, else AVX2 FMA), so no point of theirs sits above it.
        let perISA = ComputePeakProbe.measureEachISA(features: features, pool: pool, trials: trials)
        let fma = ComputePeakProbe.roof(of: perISA, features: features)
        var mixed1 = fma.perThreadGFLOPs, mixedN = fma.allThreadsGFLOPs
        if avx2 && features.flags.contains("fma") {
            let iters: Int64 = 4_000_000
            (mixed1, mixedN) = ComputePeakProbe.bestRates(
                pool: pool, trials: trials, flops: Double(iters) * (6 * 16 + 6 * 8)
            ) {
                blackHole(cnns_fma_add_avx2(iters))
            }
        }
        var bw: [BandwidthCeiling] = []
        let privateLevels = Set(topology.caches.filter { $0.sharedBy.count <= 1 }.map { "L\($0.level)" })
        for threads in Array(Set([1, pool.width])).sorted() {
            for (level, ws) in workingSets(topology, threads: threads) where levels?.contains(level) ?? true {
                for k in kernels {
                    func once() -> BandwidthCeiling {
                        bandwidth(
                            level: level, kernel: k, bytesPerThread: ws, threads: threads, pool: pool, isa: width,
                            trials: trials)
                    }
                    var c = once()
                    // A private cache scales with its threads: while all threads stay under 70% of
                    // threads x one thread, a VM's host ran them in turn; measure again after a pause
                    // (up to three more rounds, keeping the best), as the compute ceilings do.
                    let one = bw.first { $0.level == level && $0.kernel == k && $0.threads == 1 }?.gbPerSecond
                    var round = 0
                    while threads > 1, privateLevels.contains(level), let one,
                        c.gbPerSecond < 0.7 * Double(threads) * one, round < 3
                    {
                        round += 1
                        usleep(200_000)
                        let again = once()
                        if again.gbPerSecond > c.gbPerSecond { c = again }
                    }
                    bw.append(c)
                }
            }
        }
        let only = levels.map { "; only " + levelNames(topology).filter($0.contains).joined(separator: ", ") } ?? ""
        var c = MachineCeilings(
            fma: fma, mixedPerThreadGFLOPs: mixed1, mixedAllThreadsGFLOPs: mixedN, bandwidth: bw,
            method:
                """
                microkernels in C (\(width.text) loads and stores), pinned threads, working sets from hwloc cache \
                sizes, median of \(trials) trials; load in the caches over two streams or one, whichever reads more \
                (trials interleaved), one in DRAM\(only)
                """
        )
        c.computeByISA = perISA
        c.methodVersion = MachineCeilings.currentMethodVersion
        return c
    }

    /// GB/s of `threads` workers that each move `bytesPerThread` bytes in `run(worker)`: all their
    /// bytes over the wall time from handing out the job to the last finish, as likwid-bench times
    /// its threads between barriers. Threads that a VM's host runs in turn on one core, or that wait
    /// on each other for DRAM, do not count as running side by side (each thread's own time had
    /// measured two threads at twice one thread's DRAM bandwidth).
    static func rate(pool: WorkerPool, threads: Int, bytesPerThread: Double, run: (Int) -> Void) -> Double {
        let t0 = ComputePeakProbe.seconds()
        pool.runOnOwnThreads { w in if w < threads { run(w) } }
        return bytesPerThread * Double(threads) / (ComputePeakProbe.seconds() - t0) / 1e9
    }

    static func bandwidth(
        level: String, kernel: String, bytesPerThread: Int, threads: Int, pool: WorkerPool,
        isa: BandwidthISA, trials: Int
    ) -> BandwidthCeiling {
        let arrays = kernel == "load" ? 1 : (kernel == "copy" ? 2 : 3)
        // A multiple of 128 floats: every kernel's step divides it.
        let n = max(128, bytesPerThread / 4 / arrays / 128 * 128)
        let bytesPerPass = Double(n * 4 * arrays)
        // Enough passes for ~1 GiB moved per thread and trial (at least one pass): trials of
        // 7-25 ms in the caches, so that the workers' start skew on a VM (tens of µs) stays
        // under 1% of the slowest thread's time.
        let reps = Int64(max(1, Int((1024.0 * 1_048_576) / bytesPerPass)))
        var buffers: [[UnsafeMutablePointer<Float>]] = Array(repeating: [], count: threads)
        // Each worker allocates and first-touches its own buffers (local NUMA node, own cache).
        // Every array starts on a page boundary: with equal addresses modulo 4 KiB, a stream's
        // loads never alias the stores of the iteration before (4K aliasing, which slowed the L1
        // copy by up to a third when the allocator placed the arrays 64 bytes apart modulo 4 KiB).
        buffers.withUnsafeMutableBufferPointer { bufs in
            pool.runOnOwnThreads { w in
                guard w < threads else { return }
                var list: [UnsafeMutablePointer<Float>] = []
                for _ in 0..<arrays {
                    var raw: UnsafeMutableRawPointer?
                    _ = posix_memalign(&raw, 4096, n * 4)
                    let p = raw!.bindMemory(to: Float.self, capacity: n)
                    for i in 0..<n { p[i] = Float(i & 255) * 0.01 }
                    list.append(p)
                }
                bufs[w] = list
            }
        }
        // A load in the caches tries two streams and one, trial by trial; DRAM reads one (likwid's way).
        let k = isa.kernels
        let both = kernel == "load" && level != "DRAM" && isa != .sse  // SSE has one load kernel
        let loads = both ? [k.load, k.loadOneStream] : [level == "DRAM" ? k.loadOneStream : k.load]
        func pass(_ w: Int, _ r: Int64, _ variant: Int) {
            let b = buffers[w]
            switch kernel {
            case "load": blackHole(loads[variant](b[0], Int64(n), r))
            case "copy": blackHole(k.copy(b[0], b[1], Int64(n), r))
            default: blackHole(k.triad(b[0], b[1], b[2], Int64(n), r))
            }
        }
        var results = Array(repeating: [Double](), count: loads.count)
        for v in loads.indices { pool.runOnOwnThreads { w in if w < threads { pass(w, 1, v) } } }  // warm-up
        for _ in 0..<trials {
            for v in loads.indices {
                results[v].append(
                    rate(pool: pool, threads: threads, bytesPerThread: bytesPerPass * Double(reps)) {
                        pass($0, reps, v)
                    })
            }
        }
        for w in 0..<threads { for p in buffers[w] { free(p) } }
        let sorted = results.map { $0.sorted() }
        let best = sorted.indices.max { sorted[$0][trials / 2] < sorted[$1][trials / 2] }!
        let s = sorted[best]
        var c = BandwidthCeiling(
            level: level, kernel: kernel, threads: threads, workingSetBytes: n * 4 * arrays,
            gbPerSecond: s[s.count / 2], minGBPerSecond: s.first!, maxGBPerSecond: s.last!, isa: isa.rawValue)
        if kernel == "load" && isa != .sse { c.streams = both && best == 0 ? 2 : 1 }
        if both { c.oneStreamGBPerSecond = sorted[1][trials / 2] }
        return c
    }
}
