import Foundation

/// Reads the regular files of a (ustar or GNU) tar archive held in memory: enough to unpack the
/// data sets' `.tar.gz` downloads. Paths are never used to write: callers take the base names.
public enum TarArchive {
    public struct Member {
        public var path: String
        public var bytes: ArraySlice<UInt8>
    }

    /// Every regular file, in archive order; a malformed header is an error naming `file` and the offset.
    public static func members(_ tar: [UInt8], file: String) throws -> [Member] {
        var out: [Member] = []
        var offset = 0
        while offset + 512 <= tar.count {
            let header = tar[offset..<(offset + 512)]
            if header.allSatisfy({ $0 == 0 }) { break }  // end of archive
            func text(_ from: Int, _ count: Int) -> String {
                let field = tar[(offset + from)..<(offset + from + count)]
                return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
            }
            let sizeText = text(124, 12).trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText, radix: 8) else {
                throw DatasetError("\(file): byte \(offset): not a tar header (size field '\(sizeText)')")
            }
            let type = tar[offset + 156]
            let prefix = text(345, 155)
            let name = prefix.isEmpty ? text(0, 100) : prefix + "/" + text(0, 100)
            let start = offset + 512
            guard start + size <= tar.count else {
                throw DatasetError(
                    "\(file): byte \(offset): member '\(name)' runs past the end of the archive (truncated?)")
            }
            if type == UInt8(ascii: "0") || type == 0 {
                out.append(Member(path: name, bytes: tar[start..<(start + size)]))
            }
            offset = start + (size + 511) / 512 * 512
        }
        return out
    }
}
