import Foundation

/// Where a number came from. Every figure cnnscope reports carries one.
public enum Provenance: String, Codable, Sendable {
    /// Read from a performance counter (PMU or kernel software event).
    case counted
    /// Timed with a clock or measured by a microbenchmark.
    case measured
    /// Computed from a formula (FLOPs, bytes, roofs).
    case modelled
    /// From a cache simulator (valgrind's cachegrind).
    case simulated
}

/// A value with its provenance, or the reason it is missing (never shown as 0).
public struct Figure: Codable, Equatable, Sendable {
    public var value: Double?
    public var provenance: Provenance
    public var unit: String
    /// Why the value is missing (nil when present).
    public var unavailable: String?
    /// enabled/running multiplexing scale of a counted value (1 = never multiplexed).
    public var scale: Double?

    public static func of(_ v: Double, _ p: Provenance, _ unit: String = "", scale: Double? = nil) -> Figure {
        Figure(value: v, provenance: p, unit: unit, unavailable: nil, scale: scale)
    }
    public static func missing(_ reason: String, _ p: Provenance, _ unit: String = "") -> Figure {
        Figure(value: nil, provenance: p, unit: unit, unavailable: reason, scale: nil)
    }

    /// "1.23e9 (counted)" or "unavailable: reason".
    public var text: String {
        guard let v = value else { return "unavailable: \(unavailable ?? "?")" }
        let num = abs(v) >= 1e5 || (abs(v) < 1e-2 && v != 0) ? String(format: "%.3g", v) : String(format: "%.3f", v)
        return "\(num)\(unit.isEmpty ? "" : " " + unit) (\(provenance.rawValue))"
    }
}
