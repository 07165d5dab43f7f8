import Foundation

/// MD5 (RFC 1321), for checking downloaded files against the checksums their publishers list.
/// Not for security: only to catch a truncated or wrong file.
public struct MD5 {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var buffer: [UInt8] = []

    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10,
        15, 21,
    ]
    /// floor(|sin(i + 1)| · 2^32).
    private static let constants: [UInt32] = (0..<64).map {
        UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296))
    }

    public init() {}

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            buffer.append(b)
            if buffer.count == 64 {
                compress(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }

    private mutating func compress(_ block: [UInt8]) {
        var m = [UInt32](repeating: 0, count: 16)
        for i in 0..<16 {
            m[i] =
                UInt32(block[4 * i]) | UInt32(block[4 * i + 1]) << 8 | UInt32(block[4 * i + 2]) << 16
                | UInt32(block[4 * i + 3]) << 24
        }
        var (a, b, c, d) = state
        for i in 0..<64 {
            var f: UInt32
            let g: Int
            switch i {
            case 0..<16: f = (b & c) | (~b & d); g = i
            case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
            case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
            default: f = c ^ (b | ~d); g = (7 * i) % 16
            }
            f = f &+ a &+ Self.constants[i] &+ m[g]
            a = d
            d = c
            c = b
            b = b &+ ((f << Self.shifts[i]) | (f >> (32 - Self.shifts[i])))
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }

    /// The digest as 32 lowercase hex digits; `totalBytes` is the message length.
    public mutating func finalize(totalBytes: UInt64) -> String {
        var tail: [UInt8] = [0x80]
        let used = Int(totalBytes % 64)
        let pad = used < 56 ? 55 - used : 119 - used
        tail += [UInt8](repeating: 0, count: pad)
        let bits = totalBytes &* 8
        for i in 0..<8 { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        update(tail)
        let words = [state.0, state.1, state.2, state.3]
        return words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The MD5 of a whole byte array (whole blocks straight from the array, the rest buffered).
    public static func hex(_ bytes: [UInt8]) -> String {
        var h = MD5()
        let whole = bytes.count / 64 * 64
        var block = [UInt8](repeating: 0, count: 64)
        for start in stride(from: 0, to: whole, by: 64) {
            for k in 0..<64 { block[k] = bytes[start + k] }
            h.compress(block)
        }
        h.update(bytes[whole...])
        return h.finalize(totalBytes: UInt64(bytes.count))
    }
}
