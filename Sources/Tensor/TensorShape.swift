/// A tensor shape (row-major; activations are NHWC as in Keras). Construction checks that
/// every dimension is positive and that the element count does not overflow.
public struct TensorShape: Hashable, Codable, CustomStringConvertible, Sendable {
    public let dims: [Int]

    public init(_ dims: [Int]) throws {
        guard !dims.isEmpty else { throw TensorError.invalidDimension("a shape needs at least one dimension") }
        var count = 1
        for d in dims {
            guard d > 0 else {
                throw TensorError.invalidDimension(
                    "shape \(Self.text(dims)): every dimension must be positive, got \(d)")
            }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= Int(Int32.max) * 64 else {
                throw TensorError.invalidDimension("shape \(Self.text(dims)) has too many elements")
            }
            count = p
        }
        self.dims = dims
    }

    /// NHWC shape.
    public init(n: Int, h: Int, w: Int, c: Int) throws { try self.init([n, h, w, c]) }

    public var count: Int { dims.reduce(1, *) }
    public var rank: Int { dims.count }
    public subscript(i: Int) -> Int { dims[i] }

    static func text(_ d: [Int]) -> String { "(" + d.map(String.init).joined(separator: ",") + ")" }
    public var description: String { Self.text(dims) }
}
