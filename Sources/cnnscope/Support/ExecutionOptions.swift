import ArgumentParser
import Hardware
import MachineStore
import Profiling
import Runtime

extension BindPolicy: ExpressibleByArgument {}
extension Threading: ExpressibleByArgument {}

/// How work is spread over the machine: worker count, their placement, OpenBLAS' threads, ISA.
struct ExecutionOptions: ParsableArguments {
    @Option(help: "The number of worker threads; the default is one per core.") var threads: Int?
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
    @Option(
        help: ArgumentHelp(
            """
            The widest instruction set the hand-written kernels use: scalar (their plain C references), avx2 or \
            avx512; the default is the best this machine has (also CNNSCOPE_ISA).
            """,
            valueName: "scalar|avx2|avx512"))
    var isa: String?
    var settings: ExecutionSettings { ExecutionSettings(threads: threads, bind: bind, threading: threading, isa: isa) }

    func validate() throws { try Console.validating { try settings.validate(environment: Console.environment) } }

    /// The run's environment: this pool and this machine's record (or the one given).
    func environment(_ machine: MachineOptions) throws -> RunEnvironment {
        try RunEnvironment(
            execution: settings, machine: machine.settings, profiles: Console.profiles,
            environment: Console.environment, commandLine: CommandLine.arguments.joined(separator: " "),
            log: { print($0) }, warn: Console.error)
    }
}

/// `--machine FILE` and `--cache-dir DIR`: which machine record a run uses.
struct MachineOptions: ParsableArguments {
    @Option(
        help: """
            Use this machine record (JSON written by cnnscope machine --measure) for the ceilings and auto's choices \
            instead of this machine's cached one; it is used as it is and never updated.
            """)
    var machine: String?
    @OptionGroup var cache: CacheDirOption
    var settings: MachineSettings { MachineSettings(recordFile: machine, cacheDir: cache.cacheDir) }
}

/// `--cache-dir DIR`: where measured ceilings and auto's choices are kept.
struct CacheDirOption: ParsableArguments {
    @Option(
        help: """
            The folder for measured ceilings and auto's choices (machines/<identity>.json below it); the default is \
            $CNNSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/cnnscope, else ~/.cache/cnnscope.
            """)
    var cacheDir: String?
}
