import ArgumentParser
import Foundation
import Hardware
import Profiler
import Profiling
import Reports
import Runtime

/// `--events SET`: count an event set per layer (or per algorithm) with the fallback ladder.
struct EventsOption: ParsableArguments {
    @Option(
        help:
            """
            Count an event set from Profiles/events (FLOPS_SP, CACHE, MEM, IPC, SOFTWARE) per layer; where its \
            events do not open, software events and then timers are used, and each missing value says why.
            """
    )
    var events: String?

    static func eventsDir() throws -> URL {
        guard let d = ProfilesDirectory.locate()?.appendingPathComponent("events") else {
            throw CLIError("cannot find the Profiles/events folder; run from the repository or set CNNSCOPE_PROFILES")
        }
        return d
    }

    /// The session for the calling thread and the pool's workers, or nil without --events.
    func session(pool: WorkerPool?) throws -> CounterSession? {
        guard let name = events else { return nil }
        let dir = try Self.eventsDir()
        let set = try EventSet.load(named: name, in: dir)
        let software = try? EventSet.load(named: "SOFTWARE", in: dir)
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        let session = CounterSession(set: set, software: software, pmus: pmus, threadIDs: [0] + (pool?.threadIDs ?? []))
        if let pool { session.attachSelfReads(to: pool) }
        return session
    }
}
