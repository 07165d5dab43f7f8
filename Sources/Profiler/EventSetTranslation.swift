import Hardware

/// What an event set becomes on one PMU: the section that applies to it and, for each event,
/// libpfm4's fully qualified encoding or the reason it does not encode. libpfm4 encodes only for
/// the PMUs it treats as present, so another machine's PMU is translated in a child process
/// started with `LIBPFM_FORCE_PMU` (see `cnnscope events --pmu`).
public struct EventSetTranslation: Codable, Equatable, Sendable {
    public struct Event: Codable, Equatable, Sendable {
        public var variable: String
        public var event: String
        /// libpfm4's fully qualified name, when the event encodes.
        public var qualifiedName: String?
        /// perf_event_attr type and config, when the event encodes.
        public var type: UInt32?
        public var config: UInt64?
        /// Why it does not encode.
        public var error: String?
    }

    public var set: String
    public var pmu: String
    /// The PMUs named by the section used (nil: no section applies to this PMU).
    public var section: [String]?
    public var events: [Event]
    /// Derived variables of the section, as text.
    public var derived: [String]

    public var allEncode: Bool { section != nil && events.allSatisfy { $0.error == nil } }

    /// Encodes every event of `set`'s section for `pmu` with the libpfm4 tables of this process.
    /// "generic" takes the generic section (perf's generic events).
    public static func translate(_ set: EventSet, pmu: String) -> EventSetTranslation {
        let sec = set.sections.first { $0.pmus.contains(pmu) }
        let events = (sec?.events ?? []).map { v, e -> Event in
            do {
                let enc = try PfmLibrary.encode(e)
                return Event(
                    variable: v, event: e, qualifiedName: enc.qualifiedName, type: enc.type, config: enc.config)
            } catch {
                return Event(variable: v, event: e, error: "\(error)")
            }
        }
        return EventSetTranslation(
            set: set.name, pmu: pmu, section: sec?.pmus, events: events,
            derived: (sec?.derived ?? []).map { "\($0.variable) = \($0.formula)" })
    }

    /// Every PMU any section of the sets names (without "generic"), sorted.
    public static func namedPMUs(_ sets: [EventSet]) -> [String] {
        Array(Set(sets.flatMap { $0.sections.flatMap(\.pmus) }).subtracting(["generic"])).sorted()
    }
}
