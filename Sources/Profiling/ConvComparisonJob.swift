import Figures
import Foundation
import Hardware
import Kernels
import Layers
import Training

/// `cnnscope compare`: the convolution algorithms side by side on layer shapes.
public struct ConvComparisonJob {
    /// How the comparison is printed.
    public enum Output: String, Sendable { case table, json, csv }

    /// Layers as N=..,H=..,W=..,C=..,K=..,R=..[,S=..][,stride=..][,pad=same|valid].
    public var layers: [String] = []
    /// Add the lab's speed-goal shapes.
    public var labShapes = false
    /// Add every distinct convolution of this model (at `batch`, default 64).
    public var model: String?
    public var batch: Int?
    public var algorithms = "naive,im2col,winograd-f2x3,winograd-f4x3,auto"
    public var repetitions = 5
    public var warmup = 1
    /// Upper bound of one worker's buffers, as a byte count (K/M suffixes).
    public var workspaceLimit: String?
    /// The per-thread FMA peak to compare against; nil is the record's, or measured now.
    public var peakGFLOPs: Double?
    /// Simulate each kernel's cache traffic with cachegrind, running `executable`'s hidden command.
    public var simulateCache = false
    public var executable = URL(fileURLWithPath: "/proc/self/exe")
    public var eventSet: String?
    public var output = Output.table

    public init() {}

    /// The lab's convolution shapes: the speed-goal layers of the engine (`cnnscope bench`'s) and the
    /// MNIST first layer.
    public static let labShapeList = ConvBenchJob.shapes + ["N=64,H=28,W=28,C=1,K=32,R=3"]

    public func validate() throws {
        if layers.isEmpty && !labShapes && model == nil {
            throw WorkflowError(
                "Give at least one --layer (for example --layer N=64,H=14,W=14,C=32,K=64,R=3), --lab-shapes or --model."
            )
        }
        if repetitions < 1 { throw WorkflowError("--repetitions must be at least 1, got \(repetitions).") }
        if warmup < 0 { throw WorkflowError("--warmup cannot be negative, got \(warmup).") }
        if let b = batch, b < 1 { throw WorkflowError("--batch must be at least 1, got \(b).") }
        _ = try ConvAlgorithmKind.parseList(algorithms)
        if let w = workspaceLimit, ByteCount.parse(w) == nil {
            throw WorkflowError("--workspace-limit must be a byte count such as 4194304, 512K or 4M, got '\(w)'.")
        }
    }

    /// Times every algorithm on every shape and returns the comparison as text, JSON or CSV.
    public func run(in env: RunEnvironment) throws -> String {
        var geometries: [ConvGeometry]
        do {
            geometries = try (layers + (labShapes ? Self.labShapeList : [])).map { text in
                let g = try ConvGeometry.parse(text)
                return try batch.map { try g.withBatch($0) } ?? g
            }
        } catch { throw WorkflowError("--layer: \(error)") }
        if let model { geometries += try Self.convolutions(of: try env.model(model), batch: batch ?? 64) }
        var options = env.options
        if let limit = workspaceLimit.flatMap(ByteCount.parse) {
            options.workspaceLimitBytes = max(4096, limit)
            options.winogradChunkBytes = max(4096, limit)
        }
        let (peak, peakSource) = peakPerThread(env)
        let runner = ConvBenchRunner(
            pool: env.pool, threads: env.threads, options: options, repetitions: repetitions, warmup: warmup,
            peakPerThread: peak, selector: env.machine.selector(options: options),
            session: try env.counterSession(eventSet))
        var results: [ConvBenchResult] = []
        for g in geometries {
            results += try runner.compare(g, algorithms: try ConvAlgorithmKind.parseList(algorithms))
        }
        if simulateCache, let snapshot = env.runtime.topology {
            CacheSimulator(executable: executable)
                .annotate(&results, geometries: geometries, topology: snapshot, workspace: options.workspaceLimitBytes)
        }
        env.machine.keep(runner.selector)
        env.reportHostSteal()
        let header = ConvBenchHeader(
            threads: env.threads, threading: env.runtime.settings.threading.rawValue,
            bind: env.runtime.settings.bind.rawValue, blasCore: Blas.coreName, peakPerThreadGFLOPs: peak,
            peakSource: peakSource, workspaceLimitBytes: options.workspaceLimitBytes, repetitions: repetitions)
        switch output {
        case .json: return try JSONText.pretty(ConvBenchReport(header: header, results: results))
        case .csv: return ConvBenchReport.csv(results)
        case .table:
            return ConvBenchReport.text(
                header: header, results: results, session: runner.session, simulated: simulateCache)
        }
    }

    /// The distinct convolutions of a model, at a batch size.
    public static func convolutions(of p: ModelProfile, batch: Int) throws -> [ConvGeometry] {
        let m = try ModelBuilder.build(p, input: p.inputShape ?? [28, 28, 1])
        var seen: [ConvGeometry] = []
        for case let c as Conv2DLayer in m.layers {
            let g = try c.geometry.withBatch(batch)
            if !seen.contains(g) { seen.append(g) }
        }
        guard !seen.isEmpty else { throw WorkflowError("\(p.name): the model has no convolution to compare") }
        return seen
    }

    /// The per-thread FMA peak the "% peak" column divides by, and where it came from.
    func peakPerThread(_ env: RunEnvironment) -> (Double, String) {
        if let p = peakGFLOPs { return (p, "given") }
        let machine = env.machine
        if let p = machine.record.ceilings?.fma(isa: env.options.roofISA) {
            return (
                p.perThreadGFLOPs,
                "measured earlier on this machine (\(machine.isExplicit ? "--machine" : machine.identity.name))"
            )
        }
        guard let cpu = env.cpu else { return (.nan, "unknown") }
        let pool = WorkerPool(threads: env.threads, policy: env.runtime.settings.bind, topology: env.runtime.hwloc)
        return (
            ComputePeakProbe.measure(features: cpu, pool: pool, isa: env.options.roofISA).perThreadGFLOPs,
            "measured now"
        )
    }
}
