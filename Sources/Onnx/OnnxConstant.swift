import Foundation

/// A tensor whose values are known at import: an initializer, a Constant node, or the result of
/// folding a shape subgraph. Floats are widened to Float (float16, bfloat16) or narrowed (double);
/// integers are kept as Int64.
struct OnnxConstant: Equatable {
    var dims: [Int]
    var floats: [Float]?
    var ints: [Int64]?

    var count: Int { dims.reduce(1, *) }
    var isScalarLike: Bool { count == 1 }

    /// The values as Int64 (integers as they are, floats truncated), for shapes and axes.
    var integers: [Int64] { ints ?? (floats ?? []).map { Int64($0) } }
    /// The values as Float.
    var values: [Float] { floats ?? (ints ?? []).map { Float($0) } }

    init(dims: [Int], floats: [Float]) { self.dims = dims; self.floats = floats }
    init(dims: [Int], ints: [Int64]) { self.dims = dims; self.ints = ints }

    /// Decodes an initializer (or a Constant's value). `folder` is the model's folder, where
    /// external data files lie; `file` names the model in errors.
    init(_ t: Onnx_TensorProto, folder: URL, file: String) throws {
        let name = t.name.isEmpty ? "a constant" : "initializer '\(t.name)'"
        dims = t.dims.map(Int.init)
        guard dims.allSatisfy({ $0 >= 0 }) else { throw OnnxError("\(file): \(name) has a negative dimension") }
        let n = dims.reduce(1, *)
        var raw = t.rawData
        if t.dataLocation == .external {
            raw = try Self.externalBytes(t, folder: folder, file: file, name: name)
        }
        func fromRaw<T>(_ type: T.Type) throws -> [T] {
            let size = MemoryLayout<T>.size
            guard raw.count == n * size else {
                throw OnnxError("\(file): \(name) holds \(raw.count) bytes, its shape \(dims) needs \(n * size)")
            }
            return raw.withUnsafeBytes { b in (0..<n).map { b.loadUnaligned(fromByteOffset: $0 * size, as: T.self) } }
        }
        func counted<T>(_ v: [T]) throws -> [T] {
            guard v.count == n else {
                throw OnnxError("\(file): \(name) holds \(v.count) values, its shape \(dims) needs \(n)")
            }
            return v
        }
        let hasRaw = !raw.isEmpty || n == 0
        switch t.dataType {
        case 1:  // FLOAT
            floats = try hasRaw ? fromRaw(Float.self) : counted(t.floatData)
        case 10:  // FLOAT16: raw bytes, or the bits in int32_data
            let bits = try hasRaw ? fromRaw(UInt16.self) : counted(t.int32Data.map { UInt16(truncatingIfNeeded: $0) })
            floats = bits.map(Self.widenHalf)
        case 16:  // BFLOAT16: the high half of a float32
            let bits = try hasRaw ? fromRaw(UInt16.self) : counted(t.int32Data.map { UInt16(truncatingIfNeeded: $0) })
            floats = bits.map { Float(bitPattern: UInt32($0) << 16) }
        case 11:  // DOUBLE
            floats = try (hasRaw ? fromRaw(Double.self) : counted(t.doubleData)).map { Float($0) }
        case 7:  // INT64
            ints = try hasRaw ? fromRaw(Int64.self) : counted(t.int64Data)
        case 6:  // INT32
            ints = try (hasRaw ? fromRaw(Int32.self) : counted(t.int32Data)).map { Int64($0) }
        case 2, 3, 4, 5, 9, 12, 13:  // UINT8, INT8, UINT16, INT16, BOOL, UINT32, UINT64
            ints = try Self.smallIntegers(t, raw: raw, count: n, file: file, name: name)
        default:
            throw OnnxError(
                "\(file): \(name) has element type \(t.dataType), which cnnscope does not read (float, float16, "
                    + "bfloat16, double and integers only)")
        }
    }

    /// IEEE 754 binary16 to binary32, subnormals, infinities and NaN included (portable: no Float16).
    static func widenHalf(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    private static func smallIntegers(
        _ t: Onnx_TensorProto, raw: Data, count n: Int, file: String, name: String
    ) throws -> [Int64] {
        if raw.isEmpty {
            let v = t.dataType == 13 ? t.uint64Data.map { Int64(truncatingIfNeeded: $0) } : t.int32Data.map(Int64.init)
            guard v.count == n else { throw OnnxError("\(file): \(name) holds \(v.count) values, needs \(n)") }
            return v
        }
        let size = [2: 1, 3: 1, 4: 2, 5: 2, 9: 1, 12: 4, 13: 8][Int(t.dataType)]!
        guard raw.count == n * size else {
            throw OnnxError("\(file): \(name) holds \(raw.count) bytes, needs \(n * size)")
        }
        return raw.withUnsafeBytes { b in
            (0..<n).map { i -> Int64 in
                switch t.dataType {
                case 3: return Int64(b.load(fromByteOffset: i, as: Int8.self))
                case 4: return Int64(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                case 5: return Int64(b.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
                case 12: return Int64(b.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                case 13: return Int64(truncatingIfNeeded: b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
                default: return Int64(b.load(fromByteOffset: i, as: UInt8.self))
                }
            }
        }
    }

    /// The bytes of a tensor stored beside the model (`location`, `offset`, `length`).
    private static func externalBytes(_ t: Onnx_TensorProto, folder: URL, file: String, name: String) throws -> Data {
        var entries: [String: String] = [:]
        for e in t.externalData { entries[e.key] = e.value }
        guard let location = entries["location"], !location.isEmpty else {
            throw OnnxError("\(file): \(name) is stored externally but names no location")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw OnnxError("\(file): \(name): external data location '\(location)' must stay beside the model")
        }
        let path = folder.appendingPathComponent(location).path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw OnnxError("\(file): \(name): cannot read its external data file \(path)")
        }
        defer { try? handle.close() }
        let offset = UInt64(entries["offset"] ?? "0") ?? 0
        do {
            try handle.seek(toOffset: offset)
            let data: Data
            if let l = entries["length"].flatMap({ Int($0) }) {
                data = try handle.read(upToCount: l) ?? Data()
                guard data.count == l else {
                    throw OnnxError("\(file): \(name): \(path) ends before byte \(offset + UInt64(l))")
                }
            } else {
                data = try handle.readToEnd() ?? Data()
            }
            return data
        } catch let e as OnnxError {
            throw e
        } catch {
            throw OnnxError("\(file): \(name): reading \(path) failed: \(error.localizedDescription)")
        }
    }
}
