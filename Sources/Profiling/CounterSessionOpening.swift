import Foundation
import Hardware
import Profiler

extension CounterSession {
    /// A session counting the event set `name` (from Profiles/events) on the calling thread and
    /// the pool's workers, with the SOFTWARE set as its fallback; nil when `name` is nil.
    public static func open(setNamed name: String?, profiles: ProfilesFolder?, pool: WorkerPool?) throws
        -> CounterSession?
    {
        guard let name else { return nil }
        guard let dir = profiles?.folder("events") else { throw ProfilesFolder.missing("events") }
        let set = try EventSet.load(named: name, in: dir)
        let software = try? EventSet.load(named: "SOFTWARE", in: dir)
        let pmus = (try? PfmLibrary.detectedPMUs()) ?? []
        let session = CounterSession(
            set: set, software: software, pmus: pmus, threadIDs: [0] + (pool?.threadIDs ?? []))
        if let pool { session.attachSelfReads(to: pool) }
        return session
    }
}
