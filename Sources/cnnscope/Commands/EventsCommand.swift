import ArgumentParser
import Foundation
import Hardware
import Profiler

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract:
            """
            List the PMUs libpfm4 detects and the shipped event sets, with which events open here and why the \
            others do not.
            """,
        discussion: """
            Each set in Profiles/events names its events per PMU model. For the section that applies \
            to this machine, every event is encoded with libpfm4 and opened with perf_event_open; a \
            failure is shown with its errno and likely cause. When no event of a set opens, cnnscope \
            falls back to the SOFTWARE set, and then to timers only.
            """)

    @Option(help: "Show only this event set, with its long description.")
    var set: String?

    @Option(
        help:
            """
            Show what each event set becomes on this libpfm4 PMU model (for example amd64_fam19h_zen4, icx, spr \
            or generic), whether or not this machine has it: every event is encoded with that PMU's tables, in a \
            child process when the PMU is not this machine's.
            """
    )
    var pmu: String?

    @Flag(help: "With --pmu, print the translation as JSON.")
    var json = false

    func run() throws {
        if let pmu { return try translate(pmu: pmu) }
        let pmus: [PMUInfo]
        do { pmus = try PfmLibrary.detectedPMUs() } catch { throw CLIError("libpfm4: \(error)") }
        let dir = try EventsOption.eventsDir()
        let names = set.map { [$0] } ?? EventSet.available(in: dir)
        let sets = try names.map { try EventSet.load(named: $0, in: dir) }
        let software = try? EventSet.load(named: "SOFTWARE", in: dir)
        print(EventSetListing.text(sets: sets, software: software, pmus: pmus, long: set != nil))
    }
}

extension EventsCommand {
    /// `--pmu NAME`: encodes every set's section for NAME. libpfm4 encodes only for PMUs it treats
    /// as present, so for another machine's PMU the command runs itself again in a child process
    /// with LIBPFM_FORCE_PMU=NAME (libpfm4 reads it once, at initialisation).
    func translate(pmu: String) throws {
        let env = ProcessInfo.processInfo.environment
        let detected = ((try? PfmLibrary.detectedPMUs()) ?? []).map(\.name)
        if pmu != "generic" && !detected.contains(pmu) {
            let known = (try? PfmLibrary.knownPMUNames()) ?? []
            guard known.contains(pmu) else {
                let cores = known.filter { !$0.contains("_unc") && !$0.hasPrefix("perf") }
                throw CLIError("--pmu: unknown PMU '\(pmu)'; libpfm4 knows: generic, \(cores.joined(separator: ", "))")
            }
            guard env["LIBPFM_FORCE_PMU"] != pmu else {
                throw CLIError("--pmu \(pmu): libpfm4 did not load it even with LIBPFM_FORCE_PMU=\(pmu)")
            }
            try Self.rerun(forcing: pmu)
            return
        }
        let dir = try EventsOption.eventsDir()
        let names = set.map { [$0] } ?? EventSet.available(in: dir)
        let translations = try names.map {
            EventSetTranslation.translate(try EventSet.load(named: $0, in: dir), pmu: pmu)
        }
        print(json ? try Console.json(translations) : EventSetListing.text(translations, pmu: pmu))
    }

    /// Runs this command line again with LIBPFM_FORCE_PMU set, passing the output through.
    static func rerun(forcing pmu: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = Array(CommandLine.arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["LIBPFM_FORCE_PMU"] = pmu
        p.environment = env
        do { try p.run() } catch { throw CLIError("--pmu \(pmu): cannot start a child process: \(error)") }
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw ExitCode(p.terminationStatus) }
    }
}
