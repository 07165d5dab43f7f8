import ArgumentParser
import Figures
import MachineStore

struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Show this machine's topology, SIMD extensions, PMU models and counter access.",
        discussion: """
            The topology and caches come from hwloc, the CPU model and SIMD extensions from /proc/cpuinfo, the PMU \
            models from libpfm4. The counter probe opens each event of a standard list with perf_event_open and, for \
            each one that fails, gives the errno and its likely cause. A part that cannot be read becomes a line \
            saying why; the command fails only when nothing could be reported.
            """)

    @Flag(help: "Print JSON instead of text.") var json = false
    @Flag(
        help: """
            Also measure the machine's ceilings (FMA peaks, load/copy/triad bandwidth of every cache level and DRAM, \
            one thread and all cores; about half a minute) and save them in the machine cache \
            (machines/<identity>.json under --cache-dir).
            """)
    var measure = false
    @Option(
        name: .customLong("level"),
        help: """
            With --measure, measure only this level's bandwidth (L1, L2, L3 or DRAM; repeat the option for more) \
            beside the compute ceilings, in a few seconds, and save nothing: a partial record, for checking one \
            level against another tool.
            """)
    var levels: [String] = []
    @OptionGroup var cache: CacheDirOption

    func validate() throws {
        if !levels.isEmpty && !measure {
            throw ValidationError("--level selects what --measure measures; add --measure, or drop --level.")
        }
    }

    func run() throws {
        let report = try MachineReport.survey(
            settings: MachineSettings(cacheDir: cache.cacheDir), measure: measure,
            levels: levels.isEmpty ? nil : levels, environment: Console.environment, log: Console.error)
        print(json ? try JSONText.pretty(report) : MachineReport.text(report))
    }
}
