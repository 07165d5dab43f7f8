#if canImport(Glibc)
    import Glibc
#endif

/// Float32 tensor with contiguous, 64-byte-aligned storage. A reference type: kernels write
/// into tensors they are handed, and layers keep their buffers between calls.
public final class Tensor: @unchecked Sendable {
    public let shape: TensorShape
    public let count: Int
    /// The storage: `count` floats, 64-byte aligned.
    public let data: UnsafeMutablePointer<Float>

    public static let alignment = 64
    /// For a view: the tensor that owns the storage (kept alive while the view lives).
    private let owner: Tensor?

    public init(shape: TensorShape, zeroed: Bool = true) {
        self.shape = shape
        count = shape.count
        data = Tensor.allocate(count)
        owner = nil
        if zeroed { data.initialize(repeating: 0, count: count) }
    }

    private init(viewOf base: Tensor, shape: TensorShape) {
        self.shape = shape
        count = shape.count
        data = base.data
        owner = base.owner ?? base
    }

    /// The same storage seen with another shape of the same element count (no copy).
    public func reshaped(_ dims: [Int]) throws -> Tensor {
        let s = try TensorShape(dims)
        guard s.count == count else {
            throw TensorError.shapeMismatch("cannot view \(shape) (\(count) values) as \(s) (\(s.count) values)")
        }
        return Tensor(viewOf: self, shape: s)
    }

    /// The first floats of the storage seen with a shape of at most `count` elements (no copy):
    /// a layer's output placed in a larger shared buffer.
    public func leadingView(_ dims: [Int]) throws -> Tensor {
        let s = try TensorShape(dims)
        guard s.count <= count else {
            throw TensorError.shapeMismatch("cannot view \(shape) (\(count) values) as \(s) (\(s.count) values)")
        }
        return Tensor(viewOf: self, shape: s)
    }

    public convenience init(_ dims: [Int], zeroed: Bool = true) throws {
        self.init(shape: try TensorShape(dims), zeroed: zeroed)
    }

    /// A tensor holding `values` (count must match the shape).
    public convenience init(shape: TensorShape, values: [Float]) throws {
        guard values.count == shape.count else {
            throw TensorError.shapeMismatch("shape \(shape) holds \(shape.count) values, got \(values.count)")
        }
        self.init(shape: shape, zeroed: false)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { if owner == nil { free(data) } }

    /// 64-byte-aligned storage for `n` floats (at least one).
    public static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(1, n) * MemoryLayout<Float>.stride
        let rc = posix_memalign(&raw, alignment, (bytes + alignment - 1) / alignment * alignment)
        precondition(rc == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        return raw!.bindMemory(to: Float.self, capacity: max(1, n))
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }

    public func fill(_ v: Float) { data.update(repeating: v, count: count) }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        t.data.update(from: data, count: count)
        return t
    }

    /// Uniform values in [low, high).
    public func fillUniform(_ rng: inout SeededGenerator, low: Float = -1, high: Float = 1) {
        for i in 0..<count { data[i] = rng.nextFloat(low: low, high: high) }
    }

    /// Zero-mean normal values with the given standard deviation.
    public func fillNormal(_ rng: inout SeededGenerator, std: Float = 1) {
        for i in 0..<count { data[i] = rng.nextNormal() * std }
    }
}
