import ArgumentParser
import Foundation
import Hardware
import Kernels
import MachineStore
import Profiling
import Reports
import Runtime

struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Show this machine's topology, SIMD extensions, PMU models and counter access.",
        discussion: """
            The topology and caches come from hwloc, the CPU model and SIMD extensions from \
            /proc/cpuinfo, the PMU models from libpfm4. The counter probe opens each event of a \
            standard list with perf_event_open and, for each one that fails, gives the errno and \
            its likely cause. A part that cannot be read becomes a line saying why; the command \
            fails only when nothing could be reported.
            """)

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(
        help:
            """
            Also measure the machine's ceilings (FMA peaks, load/copy/triad bandwidth of every cache level and \
            DRAM, one thread and all cores; about half a minute) and save them in the machine cache \
            (machines/<identity>.json under --cache-dir).
            """
    )
    var measure = false

    @Option(
        help:
            """
            The folder for measured ceilings and auto's choices (machines/<identity>.json below it); the default \
            is $CNNSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/cnnscope, else ~/.cache/cnnscope.
            """
    )
    var cacheDir: String?

    func run() throws {
        var topo: HwlocTopology?, topology: Topology?, topologyError: String?
        do {
            let t = try HwlocTopology()
            (topo, topology) = (t, t.snapshot())
        } catch { topologyError = "\(error)" }
        var cpu: CPUFeatures?, cpuError: String?
        do { cpu = try CPUFeatures.detect() } catch { cpuError = "\(error)" }
        let session = try MachineOptions.session(cacheDir: cacheDir, explicitRecord: nil, cpu: cpu, topology: topology)
        let report = MachineReport.survey(
            session: session, hwloc: topo, topology: topology, topologyError: topologyError, cpu: cpu,
            cpuError: cpuError,
            measure: measure, host: ProfilesDirectory.hostName)
        if report.readNothing {
            Console.error(
                """
                nothing could be read about this machine: \(topologyError ?? ""); \(cpuError ?? ""); \
                \(report.pmuError ?? "")
                """
            )
            throw ExitCode(1)
        }
        print(json ? try Console.json(report) : MachineReport.text(report))
    }
}
