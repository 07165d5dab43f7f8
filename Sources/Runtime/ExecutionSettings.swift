import Foundation
import Hardware
import Kernels
import Tensor

/// Where a run's threads go: `pool` runs single-threaded OpenBLAS inside each pinned worker;
/// `blas` runs one worker and lets OpenBLAS use all the threads.
public enum Threading: String, CaseIterable, Codable, Sendable {
    case pool, blas
}

/// How work is spread over the machine (worker count, placement, OpenBLAS' threads) and the
/// widest ISA the hand-written kernels may use. The tool fills it from its options; the
/// environment only supplies defaults, read once in `runtime(environment:)`.
public struct ExecutionSettings: Sendable {
    /// Worker threads; nil is one per core.
    public var threads: Int?
    public var bind: BindPolicy
    public var threading: Threading
    /// scalar, avx2 or avx512; nil is the best this machine has (or `CNNSCOPE_ISA`).
    public var isa: String?

    public init(threads: Int? = nil, bind: BindPolicy = .compact, threading: Threading = .pool, isa: String? = nil) {
        (self.threads, self.bind, self.threading, self.isa) = (threads, bind, threading, isa)
    }

    /// Checks the thread count and the ISA (asked for, or from `CNNSCOPE_ISA`) against this CPU.
    public func validate(environment: [String: String]) throws {
        if let t = threads, t < 1 || t > 1024 {
            throw ExecutionSettingsError("--threads must be between 1 and 1024, got \(t).")
        }
        if let i = isa ?? environment["CNNSCOPE_ISA"] {
            do {
                _ = try ConvOptions.checkISA(
                    i, cpuHasAVX512: (try? CPUFeatures.detect())?.flags.contains("avx512f") ?? false)
            } catch { throw ExecutionSettingsError("\(error).") }
        }
    }

    /// The kernel switches: defaults, or the comparison settings the environment asks for
    /// (CNNSCOPE_SMALL_PATCH=0, CNNSCOPE_SMALL_GEMM=0, CNNSCOPE_IM2COL_SMALL_GEMM=0,
    /// CNNSCOPE_SMALL_GEMM_MAX_PANEL=floats, CNNSCOPE_ISA, CNNSCOPE_WINOGRAD_DW=0, CNNSCOPE_IMPLICIT_DW=0,
    /// CNNSCOPE_WINOGRAD_WHOLE_LAYER=0).
    /// They travel in
    /// ConvOptions, so auto's keys see those that change a kernel.
    public func kernelSwitches(environment: [String: String]) -> ConvOptions {
        var o = ConvOptions()
        o.smallPatch = environment["CNNSCOPE_SMALL_PATCH"] != "0"
        o.smallGemm = environment["CNNSCOPE_SMALL_GEMM"] != "0"
        o.im2colSmallGemm = environment["CNNSCOPE_IM2COL_SMALL_GEMM"] != "0"
        o.winogradWeightGradient = environment["CNNSCOPE_WINOGRAD_DW"] != "0"
        o.implicitWeightGradient = environment["CNNSCOPE_IMPLICIT_DW"] != "0"
        if environment["CNNSCOPE_WINOGRAD_WHOLE_LAYER"] == "0" { o.winogradWholeLayerMaxBytes = 0 }
        if let p = environment["CNNSCOPE_SMALL_GEMM_MAX_PANEL"].flatMap(Int.init), p > 0 {
            o.smallGemmMaxPanelFloats = p
        }
        o.threading = threading.rawValue
        if let i = environment["CNNSCOPE_ISA"], ConvOptions.availableISAs.contains(i) { o.isa = i }
        if let i = isa { o.isa = i }
        return o
    }

    /// Reads the topology, builds the pinned pool, sets OpenBLAS' thread count to match the
    /// threading choice, and sizes the convolution buffers from the caches.
    public func runtime(environment: [String: String]) -> ExecutionRuntime {
        let hwloc = try? HwlocTopology()
        let topology = hwloc?.snapshot()
        let n = threads ?? max(1, topology?.cores ?? 1)
        let pool: WorkerPool
        switch threading {
        case .pool:
            Blas.threads = 1
            pool = WorkerPool(threads: n, policy: bind, topology: hwloc)
        case .blas:
            Blas.threads = n
            pool = WorkerPool(threads: 1, policy: .none, topology: hwloc)
        }
        return ExecutionRuntime(
            hwloc: hwloc, topology: topology, pool: pool, threads: n, settings: self,
            options: kernelSwitches(environment: environment).sized(for: topology, workers: pool.width))
    }
}

/// The topology, the pool and the convolution options every workflow starts from.
public struct ExecutionRuntime {
    public let hwloc: HwlocTopology?
    public let topology: Topology?
    public let pool: WorkerPool
    /// The threads the work uses (workers, or OpenBLAS' threads with `blas` threading).
    public let threads: Int
    public let settings: ExecutionSettings
    public let options: ConvOptions
}

/// A bad execution setting, worded for the user.
public struct ExecutionSettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ConvOptions {
    /// Buffer limits from the cache sizes hwloc reports (defaults when it reports none).
    public func sized(for t: Topology?, workers: Int) -> ConvOptions {
        sized(l2Bytes: t?.cache(level: 2)?.sizeBytes, l3Bytes: t?.cache(level: 3)?.sizeBytes, workers: workers)
    }
}
