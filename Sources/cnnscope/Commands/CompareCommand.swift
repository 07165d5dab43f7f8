import ArgumentParser
import Profiling

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare the convolution algorithms on layer shapes.",
        discussion: """
            For each layer and algorithm: the median time with min and max over the repetitions (measured), \
            direct-equivalent and executed GFLOP/s (formula FLOPs over measured time), the fraction of the measured \
            FMA peak, the workspace (modelled), the share of each stage, the speedup against naive, and the error \
            against a Double-precision reference computed on the first images of the batch.
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
        help: """
            Compare on every distinct convolution of this model (a profile name, a .yaml profile or an .onnx file), at \
            --batch (default 64).
            """)
    var model: String?
    @Option(help: "Override the batch size N of every layer.") var batch: Int?
    @Option(
        help: """
            Comma-separated algorithms: naive, im2col, winograd-f2x3, winograd-f4x3 (or winograd), winograd-f2x5, \
            winograd-f4x5, winograd-f3x2, auto.
            """)
    var algorithms = "naive,im2col,winograd-f2x3,winograd-f4x3,auto"
    @Option(help: "Timed repetitions per layer and algorithm.") var repetitions = 5
    @Option(help: "Untimed warm-up runs before the repetitions.") var warmup = 1
    @Option(
        help: """
            Upper bound of one worker's im2col and Winograd buffers, in bytes (K/M suffixes allowed); the default is \
            sized from the caches.
            """)
    var workspaceLimit: String?
    @Option(help: "The per-thread FMA peak in GFLOP/s to compare against; measured when not given.")
    var peakGflops: Double?
    @Flag(
        help: """
            Simulate each kernel's cache traffic with valgrind's cachegrind (D1 and last-level cache sizes from hwloc; \
            one thread; slow: the kernel runs 50-100x slower), for machines without a PMU: the misses of one forward \
            in steady state (a run of two forwards minus a run of one), labelled simulated.
            """)
    var simulateCache = false
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Print CSV instead of a table.") var csv = false
    @OptionGroup var execution: ExecutionOptions
    @OptionGroup var eventsOption: EventsOption
    @OptionGroup var machineOptions: MachineOptions

    func validate() throws { try Console.validating { try job().validate() } }

    func job() -> ConvComparisonJob {
        var j = ConvComparisonJob()
        (j.layers, j.labShapes, j.model, j.batch, j.algorithms, j.repetitions, j.warmup) =
            (layers, labShapes, model, batch, algorithms, repetitions, warmup)
        (j.workspaceLimit, j.peakGFLOPs, j.simulateCache, j.executable, j.eventSet) =
            (workspaceLimit, peakGflops, simulateCache, Console.executable, eventsOption.events)
        j.output = json ? .json : csv ? .csv : .table
        return j
    }

    func run() throws { print(try job().run(in: try execution.environment(machineOptions))) }
}
