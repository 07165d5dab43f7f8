import CZlib
import Foundation

/// zlib's inflate over a whole buffer: gzip files, and the raw deflate streams of zip archives.
public enum Inflate {
    public enum Format: Sendable {
        case gzip, rawDeflate

        var windowBits: Int32 { self == .gzip ? 16 + MAX_WBITS : -MAX_WBITS }
        var name: String { self == .gzip ? "gzip" : "deflate" }
    }

    /// The inflated bytes; corrupt or truncated input is an error naming `path` and the byte.
    public static func run(_ input: [UInt8], format: Format, path: String, expectedSize: Int? = nil) throws -> [UInt8] {
        var stream = z_stream()
        var out = [UInt8]()
        out.reserveCapacity(expectedSize ?? input.count * 4)
        let rc = inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw DatasetError("\(path): zlib inflateInit failed (\(rc))") }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inp in
            stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            stream.avail_in = uInt(inp.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw DatasetError(
                            """
                            \(path): corrupt \(format.name) data at compressed byte \
                            \(inp.count - Int(stream.avail_in)) (zlib \(status))
                            """
                        )
                    }
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
                if status != Z_STREAM_END && stream.avail_in == 0 {
                    throw DatasetError(
                        "\(path): truncated \(format.name) data (ended after \(inp.count) compressed bytes)")
                }
            } while status != Z_STREAM_END
        }
        return out
    }

    /// zlib's CRC-32 of `bytes`.
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
    }
}
