import Foundation
import Hardware

/// What `cnnscope events` shows: the PMUs libpfm4 detects and, per event set, which events open
/// here and why the others do not; or, for another PMU, what each set becomes there.
public enum EventSetListing {
    /// The detected PMUs and every set's section for them, each event probed with perf_event_open.
    public static func text(sets: [EventSet], software: EventSet?, pmus: [PMUInfo], long: Bool) -> String {
        var out = ["PMU models detected by libpfm4:"]
        for p in pmus {
            let cnt =
                p.genericCounters + p.fixedCounters > 0
                ? ", \(p.genericCounters) generic + \(p.fixedCounters) fixed counters" : ""
            out.append("  \(p.name) — \(p.description) (\(p.kind)\(cnt))")
        }
        for es in sets {
            out.append("\n\(es.name) — \(es.short)")
            guard let sec = es.section(for: pmus.map(\.name)) else {
                let names = pmus.map(\.name).joined(separator: ", ")
                out.append("  no section for \(names) and no generic section: unavailable here")
                continue
            }
            out.append("  section for: \(sec.pmus.joined(separator: " "))")
            let width = (sec.events.map(\.variable.count).max() ?? 4) + 2
            func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
            for ((v, e), p) in zip(sec.events, CounterProbe.probe(sec.events.map(\.event))) {
                let status = p.opened ? "opens" : "does not open: \(p.errno.map { $0 + " — " } ?? "")\(p.cause ?? "")"
                out.append("  \(pad(v))\(e)\n  \(pad(""))\(status)")
            }
            for (v, f) in sec.derived { out.append("  \(pad(v))= \(f)") }
            let session = CounterSession(set: es, software: software, pmus: pmus, threadIDs: [0])
            out.append(
                "  => here: \(session.level.rawValue)"
                    + (session.active.name != es.name ? ", counting \(session.active.name)" : "")
                    + (session.parts.count > 1 ? ", \(session.parts.count) passes (more events than counters)" : ""))
            out.append("  metrics: " + es.metrics.map(\.name).joined(separator: ", "))
            if long { out.append("\n" + es.long) }
        }
        return out.joined(separator: "\n")
    }

    /// What each set becomes on one PMU (encoded with this process's libpfm4 tables).
    public static func text(_ translations: [EventSetTranslation], pmu: String) -> String {
        var out: [String] = []
        for t in translations {
            guard let sec = t.section else {
                out.append("\(t.set): no section for \(pmu)\n")
                continue
            }
            out.append("\(t.set) on \(pmu) (section for: \(sec.joined(separator: " ")))")
            let width = (t.events.map(\.variable.count).max() ?? 4) + 2
            for e in t.events {
                let pad = e.variable.padding(toLength: width, withPad: " ", startingAt: 0)
                let what = e.qualifiedName.map {
                    "\($0) (type \(e.type ?? 0), config 0x\(String(e.config ?? 0, radix: 16)))"
                }
                out.append(
                    """
                      \(pad)\(e.event)\n  \(String(repeating: " ", count: width))→ \
                    \(what ?? "does not encode: \(e.error ?? "?")")
                    """
                )
            }
            for d in t.derived { out.append("  \(d)") }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}
