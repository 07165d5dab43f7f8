/// A one-line error about a sweep folder, its manifest or Slurm.
public struct SweepError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
