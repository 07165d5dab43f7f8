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
    /// Median of `trials` trials.
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

    /// GFLOP/s of one run of the microkernel on the calling thread.
    static func once(avx2: Bool, iterations: Int64) -> Double {
        let t0 = seconds()
        let v = avx2 ? cnns_fma_avx2(iterations) : cnns_muladd_sse(iterations)
        let t = seconds() - t0
        blackHole(v)
        let flops = Double(iterations) * 12 * (avx2 ? 16 : 8)
        return flops / t / 1e9
    }

    /// One compute ceiling per ISA this CPU has, each measured by its own microkernel (median of
    /// `trials`, one thread and all workers): scalar FMA, AVX2 FMA, AVX-512F FMA.
    public static func measureEachISA(features: CPUFeatures, pool: WorkerPool, trials: Int = 5) -> [ComputePeak] {
        var kernels: [(String, Double, (Int64) -> Float)] = []
        let fma = features.flags.contains("fma")
        if fma { kernels.append(("scalar-fma 12x1", 24, cnns_fma_scalar)) }
        if fma && features.flags.contains("avx2") { kernels.append(("avx2-fma 12x8", 192, cnns_fma_avx2)) }
        if features.flags.contains("avx512f") { kernels.append(("avx512f-fma 12x16", 384, cnns_fma_avx512)) }
        if kernels.isEmpty { kernels.append(("sse mul+add 12x4", 96, cnns_muladd_sse)) }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s[s.count / 2] }
        return kernels.map { name, flopsPerIteration, kernel in
            let iters: Int64 = 2_000_000
            func once() -> Double {
                let t0 = seconds()
                blackHole(kernel(iters))
                return Double(iters) * flopsPerIteration / (seconds() - t0) / 1e9
            }
            _ = once()
            let single = (0..<trials).map { _ in once() }
            let all = (0..<trials).map { _ -> Double in
                var each = [Double](repeating: 0, count: pool.width)
                each.withUnsafeMutableBufferPointer { b in pool.run { w in b[w] = once() } }
                return each.reduce(0, +)
            }
            return ComputePeak(
                perThreadGFLOPs: median(single), allThreadsGFLOPs: median(all), threads: pool.width,
                kernel: name, trials: trials)
        }
    }

    /// Measures per-thread and all-threads FMA throughput (median of `trials`, each ~20 ms).
    public static func measure(features: CPUFeatures, pool: WorkerPool, trials: Int = 5) -> ComputePeak {
        let avx2 = features.flags.contains("avx2") && features.flags.contains("fma")
        let iters: Int64 = avx2 ? 4_000_000 : 2_000_000
        _ = once(avx2: avx2, iterations: iters / 4)
        var single: [Double] = []
        for _ in 0..<trials { single.append(once(avx2: avx2, iterations: iters)) }
        var all: [Double] = []
        let w = pool.width
        for _ in 0..<trials {
            var each = [Double](repeating: 0, count: w)
            each.withUnsafeMutableBufferPointer { buf in
                pool.run { worker in buf[worker] = once(avx2: avx2, iterations: iters) }
            }
            all.append(each.reduce(0, +))
        }
        func median(_ a: [Double]) -> Double { let s = a.sorted(); return s[s.count / 2] }
        return ComputePeak(
            perThreadGFLOPs: median(single), allThreadsGFLOPs: median(all), threads: w,
            kernel: avx2 ? "avx2-fma 12x8" : "sse mul+add 12x4", trials: trials)
    }
}
