import ArgumentParser
import Foundation
import Hardware
import Profiler

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "List the PMUs libpfm4 detects and the shipped event sets, with which events open here and why the others do not.",
        discussion: """
        Each set in Profiles/events names its events per PMU model. For the section that applies \
        to this machine, every event is encoded with libpfm4 and opened with perf_event_open; a \
        failure is shown with its errno and likely cause. When no event of a set opens, cnnscope \
        falls back to the SOFTWARE set, and then to timers only.
        """)

    @Option(help: "Show only this event set, with its long description.")
    var set: String?

    func run() throws {
        let pmus: [PMUInfo]
        do { pmus = try PfmLibrary.detectedPMUs() } catch { throw CLIError("libpfm4: \(error)") }
        print("PMU models detected by libpfm4:")
        for p in pmus {
            let cnt = p.genericCounters + p.fixedCounters > 0 ? ", \(p.genericCounters) generic + \(p.fixedCounters) fixed counters" : ""
            print("  \(p.name) — \(p.description) (\(p.kind)\(cnt))")
        }
        let dir = try EventsOption.eventsDir()
        let names = try set.map { n -> [String] in
            _ = try EventSet.load(named: n, in: dir)
            return [n]
        } ?? EventSet.available(in: dir)
        let software = try? EventSet.load(named: "SOFTWARE", in: dir)
        for name in names {
            let es = try EventSet.load(named: name, in: dir)
            print("\n\(es.name) — \(es.short)")
            guard let sec = es.section(for: pmus.map(\.name)) else {
                print("  no section for \(pmus.map(\.name).joined(separator: ", ")) and no generic section: unavailable here")
                continue
            }
            print("  section for: \(sec.pmus.joined(separator: " "))")
            let width = (sec.events.map(\.variable.count).max() ?? 4) + 2
            let probes = CounterProbe.probe(sec.events.map(\.event))
            for ((v, e), p) in zip(sec.events, probes) {
                let status = p.opened ? "opens" : "does not open: \(p.errno.map { $0 + " — " } ?? "")\(p.cause ?? "")"
                print("  \(v.padding(toLength: width, withPad: " ", startingAt: 0))\(e)\n  \(String(repeating: " ", count: width))\(status)")
            }
            for (v, f) in sec.derived { print("  \(v.padding(toLength: width, withPad: " ", startingAt: 0))= \(f)") }
            let session = CounterSession(set: es, software: software, pmus: pmus, threadIDs: [0])
            print("  => here: \(session.level.rawValue)" + (session.active.name != es.name ? ", counting \(session.active.name)" : "")
                  + (session.parts.count > 1 ? ", \(session.parts.count) passes (more events than counters)" : ""))
            print("  metrics: " + es.metrics.map(\.name).joined(separator: ", "))
            if set != nil { print("\n" + es.long) }
        }
    }
}
