import ArgumentParser
import Foundation
import Hardware
import Kernels
import Profiling
import Reports
import Runtime
import Tensor

extension BindPolicy: ExpressibleByArgument {}

/// How work is spread over the machine: worker count, their placement, and OpenBLAS' threads.
struct ExecutionOptions: ParsableArguments {
    @Option(help: "The number of worker threads; the default is one per core.")
    var threads: Int?

    @Option(help: "How worker threads are bound to processing units: compact, scatter or none.")
    var bind: BindPolicy = .compact

    @Option(
        help: ArgumentHelp(
            """
            Where the threads go: 'pool' runs single-threaded OpenBLAS inside each pinned worker; 'blas' runs one \
            worker and lets OpenBLAS use all the threads.
            """,
            valueName: "pool|blas"))
    var threading: Threading = .pool

    enum Threading: String, ExpressibleByArgument, CaseIterable { case pool, blas }

    @Option(
        help: ArgumentHelp(
            """
            The widest instruction set the hand-written kernels use: scalar (their plain C references), avx2 or \
            avx512; the default is the best this machine has (also CNNSCOPE_ISA).
            """,
            valueName: "scalar|avx2|avx512"))
    var isa: String?

    func validate() throws {
        if let t = threads, t < 1 || t > 1024 {
            throw ValidationError("--threads must be between 1 and 1024, got \(t).")
        }
        if let i = isa ?? ProcessInfo.processInfo.environment["CNNSCOPE_ISA"] {
            do {
                _ = try ConvOptions.checkISA(
                    i, cpuHasAVX512: (try? CPUFeatures.detect())?.flags.contains("avx512f") ?? false)
            } catch { throw ValidationError("\(error).") }
        }
    }

    /// The topology, the pool and the convolution buffer sizes every command starts from.
    struct Runtime {
        let hwloc: HwlocTopology?
        let topology: Topology?
        let pool: WorkerPool
        let threads: Int
        let options: ConvOptions
    }

    func runtime() -> Runtime {
        let hwloc = try? HwlocTopology()
        let topology = hwloc?.snapshot()
        let (pool, threads) = makeRuntime(topology: hwloc, cores: topology?.cores ?? 1)
        return Runtime(
            hwloc: hwloc, topology: topology, pool: pool, threads: threads,
            options: kernelSwitches().sized(for: topology, workers: pool.width))
    }

    /// The kernel switches: defaults, or the comparison settings the environment asks for
    /// (CNNSCOPE_SMALL_PATCH=0, CNNSCOPE_SMALL_GEMM=0, CNNSCOPE_IM2COL_SMALL_GEMM=0,
    /// CNNSCOPE_SMALL_GEMM_MAX_PANEL=floats). They travel in ConvOptions, so auto's key sees them.
    func kernelSwitches() -> ConvOptions {
        var o = Self.kernelSwitches(threading: threading)
        if let i = isa { o.isa = i }
        return o
    }

    static func kernelSwitches(
        threading: Threading,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ConvOptions {
        var o = ConvOptions()
        o.smallPatch = environment["CNNSCOPE_SMALL_PATCH"] != "0"
        o.smallGemm = environment["CNNSCOPE_SMALL_GEMM"] != "0"
        o.im2colSmallGemm = environment["CNNSCOPE_IM2COL_SMALL_GEMM"] != "0"
        if let p = environment["CNNSCOPE_SMALL_GEMM_MAX_PANEL"].flatMap(Int.init), p > 0 {
            o.smallGemmMaxPanelFloats = p
        }
        o.threading = threading.rawValue
        if let i = environment["CNNSCOPE_ISA"], ConvOptions.availableISAs.contains(i) { o.isa = i }
        return o
    }

    /// Builds the pool and sets OpenBLAS' thread count to match the threading choice.
    func makeRuntime(topology: HwlocTopology?, cores: Int) -> (pool: WorkerPool, threads: Int) {
        let n = threads ?? max(1, cores)
        switch threading {
        case .pool:
            Blas.threads = 1
            return (WorkerPool(threads: n, policy: bind, topology: topology), n)
        case .blas:
            Blas.threads = n
            return (WorkerPool(threads: 1, policy: .none, topology: topology), n)
        }
    }
}

extension ConvOptions {
    /// Buffer limits from the cache sizes hwloc reports (defaults when it reports none).
    func sized(for t: Topology?, workers: Int) -> ConvOptions {
        sized(l2Bytes: t?.cache(level: 2)?.sizeBytes, l3Bytes: t?.cache(level: 3)?.sizeBytes, workers: workers)
    }
}
