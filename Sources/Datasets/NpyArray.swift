import Foundation

/// NumPy's `.npy` format (version 1 and 2), for float32 arrays in C order: what `infer` reads
/// as input and writes as output, and what the ONNX fixtures keep ONNX Runtime's results in.
public struct NpyArray: Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads a little-endian float32 (`<f4`) or float64 (`<f8`, narrowed) array in C order.
    public static func read(_ path: String) throws -> NpyArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError("\(path): cannot read the file")
        }
        let b = [UInt8](data)
        guard b.count >= 10, Array(b[0..<6]) == magic else {
            throw DatasetError("\(path): not a .npy file (byte 0: the magic \\x93NUMPY is missing)")
        }
        let major = b[6]
        let headerLength =
            major == 1
            ? Int(b[8]) | Int(b[9]) << 8
            : b.count >= 12
                ? Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24 : -1
        let start = major == 1 ? 10 : 12
        guard [1, 2, 3].contains(major), headerLength >= 0, start + headerLength <= b.count else {
            throw DatasetError("\(path): damaged .npy header (version \(major))")
        }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = field(header, "descr"), descr == "<f4" || descr == "<f8" else {
            throw DatasetError(
                "\(path): element type \(field(header, "descr") ?? "?") is not float32 (<f4) or float64 (<f8)")
        }
        guard field(header, "fortran_order") == "False" else {
            throw DatasetError("\(path): the array is in Fortran order; save it in C order (np.ascontiguousarray)")
        }
        guard
            let shapeText = header.range(of: "(").flatMap({ open in
                header.range(of: ")", range: open.upperBound..<header.endIndex).map { (open, $0) }
            })
        else {
            throw DatasetError("\(path): the header has no shape")
        }
        let shape = header[shapeText.0.upperBound..<shapeText.1.lowerBound].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        let count = shape.reduce(1, *), size = descr == "<f4" ? 4 : 8
        let offset = start + headerLength
        guard b.count - offset == count * size else {
            throw DatasetError(
                "\(path): holds \(b.count - offset) data bytes, the shape \(shape) needs \(count * size)")
        }
        let values: [Float] = b.withUnsafeBytes { raw in
            (0..<count).map { i in
                size == 4
                    ? raw.loadUnaligned(fromByteOffset: offset + i * 4, as: Float.self)
                    : Float(raw.loadUnaligned(fromByteOffset: offset + i * 8, as: Double.self))
            }
        }
        return NpyArray(shape: shape, values: values)
    }

    /// `'key': value` from the header's dictionary.
    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        let rest = header[r.upperBound...].drop { $0 == " " }
        if rest.first == "'" {
            return String(rest.dropFirst().prefix { $0 != "'" })
        }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }

    /// The file's bytes: version 1.0, `<f4`, C order, header padded to a multiple of 64.
    public func encoded() -> Data {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(Self.magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        out.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        return out
    }
}

/// ‖a − b‖ / ‖b‖ in Double: how far outputs are from a reference (ONNX Runtime's, Keras's).
public func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return (num / max(den, 1e-30)).squareRoot()
}
