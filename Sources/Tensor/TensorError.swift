/// Errors from shape checks: every message names the shapes involved.
public enum TensorError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidDimension(String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .invalidDimension(let s), .shapeMismatch(let s): return s
        }
    }
}
