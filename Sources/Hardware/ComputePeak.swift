import CMicrokernels

#if canImport(Glibc)
    import Glibc
#endif

/// A compute ceiling measured with an FMA-only microkernel (measured, not modelled).
public struct ComputePeak: Codable, Sendable {
    /// GFLOP/s of one thread.
    public var perThreadGFLOPs: Double
    /// GFLOP/s of all workers together, each pinned.
    public var allThreadsGFLOPs: Double
    public var threads: Int
    /// Which microkernel ran ("avx2-fma 12x8" or "sse mul+add 12x4").
    public var kernel: String
    /// The best of `trials` trials (see `ComputePeakProbe.bestRates`).
    public var trials: Int

    public init(perThreadGFLOPs: Double, allThreadsGFLOPs: Double, threads: Int, kernel: String, trials: Int) {
        self.perThreadGFLOPs = perThreadGFLOPs; self.allThreadsGFLOPs = allThreadsGFLOPs
        self.threads = threads; self.kernel = kernel; self.trials = trials
    }
}

public enum ComputePeakProbe {
    static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// GFLOP/s of `run` (which executes `flops` floating-point operations) on the calling thread and on every
    /// worker at once, each the best of `trials` trials after one warm-up: a ceiling is the rate the machine
    /// reaches. The all-workers rate divides all workers' FLOPs by the wall time from handing out the job to
    /// the last finish, so workers that take turns on one core measure as one core, never as two. A VM's
    /// host may run both virtual CPUs on one physical core for a while; while the all-workers rate stays
    /// under 70% of the width times the one-thread rate, it is measured again after a pause, up to three
    /// more rounds, keeping the best.
    public static func bestRates(pool: WorkerPool, trials: Int, flops: Double, run: () -> Void) -> (
        single: Double, all: Double
    ) {
        func timed(_ body: () -> Void) -> Double {
            let t0 = seconds()
            body()
            return seconds() - t0
        }
        _ = timed(run)
        let n = max(1, trials)
        let single = (0..<n).map { _ in flops / timed(run) / 1e9 }.max() ?? 0
        let width = Double(pool.width)
        var all = 0.0
        for round in 0..<4 {
            if round > 0 { usleep(200_000) }
            for _ in 0..<n {
                all = max(all, width * flops / timed { pool.runOnOwnThreads { _ in run() } } / 1e9)
            }
            if all >= 0.7 * width * single { break }
        }
        return (single, all)
    }

    /// An FMA microkernel: its name, FLOPs per iteration, and the kernel (iterations -> a value to keep).
    typealias Kernel = (name: String, flopsPerIteration: Double, run: (Int64) -> Float)

    /// The FMA microkernels for this CPU's ISAs.
    static func kernels(features: CPUFeatures) -> [Kernel] {
        var kernels: [Kernel] = []
        let fma = features.flags.contains("fma")
        if fma { kernels.append(("scalar-fma 12x1", 24, cnns_fma_scalar)) }
        if fma && features.flags.contains("avx2") { kernels.append(("avx2-fma 12x8", 192, cnns_fma_avx2)) }
        if features.flags.contains("avx512f") { kernels.append(("avx512f-fma 12x16", 384, cnns_fma_avx512)) }
        if kernels.isEmpty { kernels.append(("sse mul+add 12x4", 96, cnns_muladd_sse)) }
        return kernels
    }

    /// One microkernel's ceiling (see `bestRates`).
    static func measure(_ kernel: Kernel, pool: WorkerPool, trials: Int) -> ComputePeak {
        let iters: Int64 = 2_000_000
        let (single, all) = bestRates(pool: pool, trials: trials, flops: Double(iters) * kernel.flopsPerIteration) {
            blackHole(kernel.run(iters))
        }
        return ComputePeak(
            perThreadGFLOPs: single, allThreadsGFLOPs: all, threads: pool.width, kernel: kernel.name, trials: trials)
    }

    /// One compute ceiling per ISA this CPU has, each measured by its own microkernel (the best of
    /// `trials`, one thread and all workers; see `bestRates`): scalar FMA, AVX2 FMA, AVX-512F FMA.
    public static func measureEachISA(features: CPUFeatures, pool: WorkerPool, trials: Int = 5) -> [ComputePeak] {
        kernels(features: features).map { measure($0, pool: pool, trials: trials) }
    }

    /// Which of `names` (kernel names, never empty) is the roof the kernels are judged against: the FMA
    /// kernel of the widest ISA they use by default (AVX-512F where they have AVX-512, else AVX2, else SSE
    /// multiply-add), so no point of theirs sits above it.
    /// With `isa` (scalar, avx2 or avx512: the kernels capped there), that ISA's FMA kernel instead.
    /// A kernel this CPU lacks falls back to AVX2's, else the last measured (SSE multiply-add alone).
    static func roofIndex(_ names: [String], features: CPUFeatures, isa: String? = nil) -> Int {
        let kernel = fmaKernelPrefix(isa: isa ?? features.bestKernelISA)
        return names.firstIndex { $0.hasPrefix(kernel) } ?? names.firstIndex { $0.hasPrefix("avx2-fma") }
            ?? names.count - 1
    }

    /// The name prefix of the FMA microkernel of an ISA as the kernels' ISAs are named (scalar,
    /// avx2, avx512).
    public static func fmaKernelPrefix(isa: String) -> String {
        switch isa {
        case "avx512": return "avx512f-fma"
        case "scalar": return "scalar-fma"
        default: return "avx2-fma"
        }
    }

    /// The roof among `ceilings` (never empty: `measureEachISA` always measures at least one kernel).
    public static func roof(of ceilings: [ComputePeak], features: CPUFeatures) -> ComputePeak {
        ceilings[roofIndex(ceilings.map(\.kernel), features: features)]
    }

    /// Measures the roof alone: the one microkernel `roof(of:features:)` would pick, or with `isa` the FMA
    /// kernel of that ISA (the roof of kernels capped there).
    public static func measure(features: CPUFeatures, pool: WorkerPool, trials: Int = 5, isa: String? = nil)
        -> ComputePeak
    {
        let all = kernels(features: features)
        return measure(all[roofIndex(all.map(\.name), features: features, isa: isa)], pool: pool, trials: trials)
    }
}
