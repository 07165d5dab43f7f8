import ArgumentParser
import Foundation
import Profiling

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List the PMUs and the shipped event sets, with which events open here and why the others do not.",
        discussion: """
            Each set in Profiles/events names its events per PMU model. For the section that applies to this machine, \
            every event is encoded with libpfm4 and opened with perf_event_open; a failure is shown with its errno and \
            likely cause. When no event of a set opens, cnnscope falls back to the SOFTWARE set, and then to timers \
            only.
            """)

    @Option(help: "Show only this event set, with its long description.") var set: String?
    @Option(
        help: """
            Show what each event set becomes on this libpfm4 PMU model (for example amd64_fam19h_zen4, icx, spr or \
            generic), whether or not this machine has it: every event is encoded with that PMU's tables, in a child \
            process when the PMU is not this machine's.
            """)
    var pmu: String?
    @Flag(help: "With --pmu, print the translation as JSON.") var json = false

    func run() throws {
        let query = EventSetQuery(set: set, profiles: Console.profiles)
        guard let pmu else { return print(try query.listing()) }
        let (text, status) = try query.translated(
            pmu: pmu, json: json, environment: Console.environment, arguments: Array(CommandLine.arguments.dropFirst()))
        if let text { print(text) }
        if status != 0 { throw ExitCode(status) }
    }
}
