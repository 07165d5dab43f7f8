/// Median, min and max of repeated timings (the one definition every command uses).
public struct Timing: Codable, Equatable, Sendable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var samples: Int

    public init(_ xs: [Double]) {
        let s = xs.sorted()
        samples = s.count
        median = s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? .nan
        max = s.last ?? .nan
    }
}
