import ArgumentParser
import Figures
import Profiling
import Runtime

/// The convolution engine's speed goals as ratios measured in one run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the convolution engine against its speed goals and print the ratios.",
        discussion: """
            At batch 64 on the lab's 3x3 layers (and one 5x5): the best cnnscope algorithm against oneDNN's figures \
            for this machine (given with --onednn, as Scripts/bench-conv does after measuring them), im2col against \
            cblas_sgemm alone on the same GEMM shape, Winograd F(4x4,3x3) against im2col, and each result as a \
            fraction of the measured FMA peak; then each layer's weight gradient, im2col's against Winograd's, timed \
            alternately. Run for 1 thread and for all cores. Medians of the repetitions; all ratios come from this one \
            run. --layer runs other layers instead (Scripts/bench-conv --rounds runs one a call, each right after \
            oneDNN's).
            """)

    @Option(help: "Batch size.") var batch = 64
    @Option(
        name: .customLong("layer"),
        help: ArgumentHelp(
            """
            A layer to run instead of the lab's five, as N=..,H=..,W=..,C=..,K=..,R=..[,S=..][,stride=..]\
            [,pad=same|valid] (N is --batch); repeat the option for several layers.
            """,
            valueName: "shape"))
    var layers: [String] = []
    @Option(help: "Timed repetitions per measurement.") var repetitions = 7
    @Option(help: "Thread counts to run, comma-separated; default 1 and all cores.") var threadCounts: String?
    @Option(
        help: ArgumentHelp(
            """
            oneDNN GFLOP/s per shape as 'shape=t1/t2;...' (t1 one thread, t2 two); none are built in, \
            because figures from another machine would give false ratios; Scripts/bench-conv measures them here.
            """,
            valueName: "figures"))
    var onednn: String?
    @Option(
        help: ArgumentHelp(
            """
            The widest instruction set the hand-written kernels use: scalar, avx2 or avx512; the default is the \
            best this machine has (also CNNSCOPE_ISA). The FMA peak is then that instruction set's, or \
            OpenBLAS' where its own kernels are wider.
            """,
            valueName: "scalar|avx2|avx512"))
    var isa: String?
    @Flag(help: "Print JSON instead of text.") var json = false

    func validate() throws {
        try Console.validating { try ExecutionSettings(isa: isa).validate(environment: Console.environment) }
    }

    func run() throws {
        var job = ConvBenchJob()
        (job.batch, job.repetitions, job.oneDNN, job.isa) = (batch, repetitions, onednn, isa)
        job.layers = layers.isEmpty ? nil : layers
        job.threadCounts = try threadCounts.map { try IntegerList.parse($0, option: "--thread-counts") }
        let report = try job.run(environment: Console.environment)
        print(json ? try JSONText.pretty(report) : report.text)
    }
}
