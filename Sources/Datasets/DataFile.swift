import CZlib
import Foundation

/// Reads a whole data file, gunzipping it when it is gzip-compressed (by magic number, not name).
enum DataFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatasetError("\(path): file not found; give the folder with --data-dir")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError("\(path): cannot read the file (permissions?)")
        }
        let bytes = [UInt8](data)
        if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { return try gunzip(bytes, path: path) }
        return bytes
    }

    static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        var out = [UInt8]()
        out.reserveCapacity(input.count * 4)
        let rc = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
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
                            \(path): corrupt gzip data at compressed byte \(inp.count - Int(stream.avail_in)) \
                            (zlib \(status))
                            """
                        )
                    }
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
                if status != Z_STREAM_END && stream.avail_in == 0 {
                    throw DatasetError("\(path): truncated gzip file (ended after \(inp.count) compressed bytes)")
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}
