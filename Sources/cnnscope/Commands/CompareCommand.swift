import ArgumentParser
import Foundation
import Hardware
import Kernels
import Layers
import MachineStore
import Profiler
import Profiling
import Reports
import Runtime
import Tensor
import Training

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare the convolution algorithms on layer shapes.",
        discussion: """
            For each layer and algorithm: the median time with min and max over the repetitions \
            (measured), direct-equivalent and executed GFLOP/s (formula FLOPs over measured time), \
            the fraction of the measured FMA peak, the workspace (modelled), the share of each \
            stage, the speedup against naive, and the error against a Double-precision reference \
            computed on the first images of the batch.
            Example: cnnscope compare --layer N=64,H=14,W=14,C=32,K=64,R=3,stride=1,pad=same
            """)

    @Option(
        name: .customLong("layer"),
        help: ArgumentHelp(
            """
            A layer as N=..,H=..,W=..,C=..,K=..,R=..[,S=..][,stride=..][,pad=same|valid]; repeat the option for \
            several layers.
            """,
            valueName: "shape"))
    var layers: [String] = []

    @Flag(help: "Use the lab's convolution shapes (the speed-goal layers of the convolution engine).")
    var labShapes = false

    @Option(
        help:
            """
            Compare on every distinct convolution of this model (a profile name, a .yaml profile or an .onnx \
            file), at --batch (default 64).
            """
    )
    var model: String?

    @Option(help: "Override the batch size N of every layer.")
    var batch: Int?

    @Option(
        help:
            """
            Comma-separated algorithms: naive, im2col, winograd-f2x3, winograd-f4x3 (or winograd), winograd-f2x5, \
            auto.
            """
    )
    var algorithms = "naive,im2col,winograd-f2x3,winograd-f4x3,auto"

    @Option(help: "Timed repetitions per layer and algorithm.")
    var repetitions = 5

    @Option(help: "Untimed warm-up runs before the repetitions.")
    var warmup = 1

    @Option(
        help:
            """
            Upper bound of one worker's im2col and Winograd buffers, in bytes (K/M suffixes allowed); the default \
            is sized from the caches.
            """
    )
    var workspaceLimit: String?

    @Option(help: "The per-thread FMA peak in GFLOP/s to compare against; measured when not given.")
    var peakGflops: Double?

    @Flag(
        help:
            """
            Simulate each kernel's cache traffic with valgrind's cachegrind (D1 and last-level cache sizes from \
            hwloc; one thread; slow: the kernel runs 50-100x slower), for machines without a PMU: the misses of \
            one forward in steady state (a run of two forwards minus a run of one), labelled simulated.
            """
    )
    var simulateCache = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Print CSV instead of a table.")
    var csv = false

    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption
    @OptionGroup var machineOptions: MachineOptions

    static let labShapeList = [
        "N=64,H=14,W=14,C=32,K=64,R=3", "N=64,H=16,W=16,C=32,K=64,R=3", "N=64,H=7,W=7,C=64,K=128,R=3",
        "N=64,H=14,W=14,C=64,K=128,R=3", "N=64,H=14,W=14,C=32,K=64,R=5", "N=64,H=28,W=28,C=1,K=32,R=3",
    ]

    func validate() throws {
        if layers.isEmpty && !labShapes && model == nil {
            throw ValidationError(
                "Give at least one --layer (for example --layer N=64,H=14,W=14,C=32,K=64,R=3), --lab-shapes or --model."
            )
        }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions).") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative, got \(warmup).") }
        if let b = batch, b < 1 { throw ValidationError("--batch must be at least 1, got \(b).") }
        if json && csv { throw ValidationError("Choose one of --json and --csv.") }
        _ = try parsedAlgorithms()
        if let w = workspaceLimit, Self.parseBytes(w) == nil {
            throw ValidationError("--workspace-limit must be a byte count such as 4194304, 512K or 4M, got '\(w)'.")
        }
    }

    static func parseBytes(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        let mult: Int
        var digits = t
        if t.hasSuffix("K") {
            mult = 1 << 10; digits.removeLast()
        } else if t.hasSuffix("M") {
            mult = 1 << 20; digits.removeLast()
        } else if t.hasSuffix("G") {
            mult = 1 << 30; digits.removeLast()
        } else {
            mult = 1
        }
        guard let v = Int(digits), v > 0 else { return nil }
        return v * mult
    }

    /// nil stands for auto.
    func parsedAlgorithms() throws -> [ConvAlgorithmKind?] {
        try algorithms.split(separator: ",").map { raw in
            let s = raw.trimmingCharacters(in: .whitespaces)
            if s.lowercased() == "auto" { return nil }
            guard let k = ConvAlgorithmKind(userSpelling: s) else {
                throw ValidationError(
                    "Unknown algorithm '\(s)' in --algorithms; use \(ConvAlgorithmKind.userChoices) or auto."
                )
            }
            return k
        }
    }

    /// The distinct convolutions of a model, at a batch size.
    static func convolutions(of name: String, batch: Int) throws -> [ConvGeometry] {
        let p = try ModelOptions.profile(named: name)
        let m = try ModelBuilder.build(p, input: p.inputShape ?? [28, 28, 1])
        var seen: [ConvGeometry] = []
        for case let c as Conv2DLayer in m.layers {
            let g = try c.geometry.withBatch(batch)
            if !seen.contains(g) { seen.append(g) }
        }
        guard !seen.isEmpty else { throw CLIError("\(name): the model has no convolution to compare") }
        return seen
    }

    func run() throws {
        var geometries: [ConvGeometry]
        do {
            geometries = try (layers + (labShapes ? Self.labShapeList : [])).map { text in
                let g = try ConvGeometry.parse(text)
                return try batch.map { try g.withBatch($0) } ?? g
            }
        } catch { throw CLIError("--layer: \(error)") }
        geometries += try model.map { try Self.convolutions(of: $0, batch: batch ?? 64) } ?? []

        let rt = execution.runtime()
        let (topo, snapshot, pool, threads) = (rt.hwloc, rt.topology, rt.pool, rt.threads)
        let cpu = try? CPUFeatures.detect()
        let options =
            workspaceLimit.flatMap(Self.parseBytes).map { limit -> ConvOptions in
                var o = rt.options
                o.workspaceLimitBytes = max(4096, limit)
                o.winogradChunkBytes = max(4096, limit)
                return o
            }
            ?? rt.options
        let machine = try machineOptions.session(cpu: cpu, topology: snapshot)
        let (peak, peakSource) = peakPerThread(machine: machine, cpu: cpu, threads: threads, hwloc: topo)

        let runner = ConvBenchRunner(
            pool: pool, threads: threads, options: options,
            repetitions: repetitions, warmup: warmup, peakPerThread: peak,
            selector: machine.selector(options: options),
            session: try eventsOption.session(pool: pool))
        var results: [ConvBenchResult] = []
        for g in geometries {
            results += try runner.compare(g, algorithms: try parsedAlgorithms())
        }
        if simulateCache, let snapshot {
            CacheSimulator(executable: URL(fileURLWithPath: CommandLine.arguments[0]))
                .annotate(&results, geometries: geometries, topology: snapshot, workspace: options.workspaceLimitBytes)
        }
        machine.keep(runner.selector)

        let header = ConvBenchHeader(
            threads: threads, threading: execution.threading.rawValue, bind: execution.bind.rawValue,
            blasCore: Blas.coreName, peakPerThreadGFLOPs: peak, peakSource: peakSource,
            workspaceLimitBytes: options.workspaceLimitBytes, repetitions: repetitions)
        if json {
            print(try Console.json(ConvBenchReport(header: header, results: results)))
        } else if csv {
            print(ConvBenchReport.csv(results))
        } else {
            print(
                ConvBenchReport.text(
                    header: header, results: results, session: runner.session, simulated: simulateCache))
        }
    }
}

extension CompareCommand {
    /// The per-thread FMA peak the "% peak" column divides by, and where it came from.
    func peakPerThread(machine: MachineSession, cpu: CPUFeatures?, threads: Int, hwloc: HwlocTopology?)
        -> (Double, String)
    {
        if let p = peakGflops { return (p, "given") }
        if let p = machine.record.ceilings?.fma {
            return (
                p.perThreadGFLOPs,
                "measured earlier on this machine (\(machine.isExplicit ? "--machine" : machine.identity.name))"
            )
        }
        guard let cpu else { return (.nan, "unknown") }
        let p = ComputePeakProbe.measure(
            features: cpu, pool: WorkerPool(threads: threads, policy: execution.bind, topology: hwloc))
        return (p.perThreadGFLOPs, "measured now")
    }
}
