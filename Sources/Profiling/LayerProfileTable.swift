import Figures
import Foundation
import Profiler
import Reports
import Runtime

/// One layer/phase row of a per-layer counter table, ready for JSON.
public struct LayerProfileRow: Codable {
    public var layer: String
    public var type: String
    public var phase: String
    public var calls: Int
    public var msPerCall: Figure
    public var tooShortToMeasure: Bool
    public var figures: [String: Figure]
}

public enum LayerProfileTable {
    /// Rows from the profiler's records: counters scaled to every call when parts rotated.
    public static func rows(_ prof: LayerProfiler) -> [LayerProfileRow] {
        prof.ordered.map { r in
            let deltas = r.countersPerCall.mapValues { $0 * Double(r.calls) }  // scaled to every call
            let figs = prof.session?.figures(deltas: deltas, seconds: r.seconds) ?? [:]
            return LayerProfileRow(
                layer: r.name, type: r.kerasClass, phase: r.phase.rawValue, calls: r.calls,
                msPerCall: .of(r.seconds * 1e3 / Double(max(1, r.calls)), .measured, "ms"),
                tooShortToMeasure: r.tooShort, figures: figs)
        }
    }

    public static func render(_ rows: [LayerProfileRow], session: CounterSession?, overheadSeconds: Double) -> String {
        var out: [String] = []
        if let s = session { out.append(s.explanation) }
        out.append(
            String(format: "hook overhead (measured): %.2f µs per layer call, subtracted", overheadSeconds * 1e6))
        let keys = Array(Set(rows.flatMap { $0.figures.keys })).sorted()
        var t = TextTable(header: ["layer", "phase", "calls", "ms/call (measured)"] + keys)
        t.rightAligned = Set(2..<(4 + keys.count))
        for r in rows {
            var cells = [
                "\(r.layer) (\(r.type))", r.phase, "\(r.calls)",
                String(format: "%.3f", r.msPerCall.value ?? .nan) + (r.tooShortToMeasure ? " (short)" : ""),
            ]
            for k in keys {
                if let f = r.figures[k], let v = f.value {
                    cells.append(
                        abs(v) >= 1e5 || (abs(v) < 1e-2 && v != 0)
                            ? String(format: "%.3g", v) : String(format: "%.3f", v))
                } else {
                    cells.append("n/a")
                }
            }
            t.rows.append(cells)
        }
        out.append(t.render())
        if !keys.isEmpty {
            out.append(
                """
                counter columns: counted (perf_event) or derived from counted values by the set's formulas; 'n/a' \
                = not counted here:
                """
            )
            var reasons: [String: String] = [:]
            for r in rows { for (k, f) in r.figures where f.value == nil { reasons[k] = f.unavailable } }
            for (k, why) in reasons.sorted(by: { $0.key < $1.key }) { out.append("  \(k): \(why)") }
        }
        out.append("(short) = a call shorter than 20x the hook overhead: too short to measure reliably")
        return out.joined(separator: "\n")
    }
}
