import Datasets
import Foundation

/// A zip archive read whole from memory (a Keras 3 `.keras` file: config.json, metadata.json,
/// model.weights.h5): the central directory at the end, then each member's local header and
/// data, stored or deflated, with its CRC-32 checked. Errors name the archive and the member.
public struct ZipArchive {
    public struct Member: Sendable {
        public var name: String
        /// 0 stored, 8 deflated.
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        public var size: Int
        var localHeaderOffset: Int
    }

    public let path: String
    public let members: [Member]
    private let bytes: [UInt8]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KerasImportError("\(path): cannot read the file")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        (self.bytes, self.path) = (bytes, path)
        func fail(_ why: String) -> KerasImportError {
            KerasImportError("\(path): not a readable zip archive (\(why)); is the .keras file truncated?")
        }
        // The end-of-central-directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        guard bytes.count >= 22,
            let eocd = stride(from: bytes.count - 22, through: lowest, by: -1).first(where: {
                Self.u32(bytes, $0) == 0x0605_4b50
            })
        else { throw fail("no end-of-central-directory record") }
        let count = Int(Self.u16(bytes, eocd + 10))
        let dirSize = Int(Self.u32(bytes, eocd + 12)), dirOffset = Int(Self.u32(bytes, eocd + 16))
        guard dirOffset + dirSize <= eocd else { throw fail("the central directory lies outside the file") }
        var members: [Member] = []
        var at = dirOffset
        for i in 0..<count {
            guard at + 46 <= eocd, Self.u32(bytes, at) == 0x0201_4b50 else {
                throw fail("central directory entry \(i) is damaged")
            }
            let nameLength = Int(Self.u16(bytes, at + 28)), extra = Int(Self.u16(bytes, at + 30))
            let comment = Int(Self.u16(bytes, at + 32))
            guard at + 46 + nameLength <= eocd else { throw fail("central directory entry \(i) is cut off") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            let m = Member(
                name: name, method: Self.u16(bytes, at + 10), crc: Self.u32(bytes, at + 16),
                compressedSize: Int(Self.u32(bytes, at + 20)), size: Int(Self.u32(bytes, at + 24)),
                localHeaderOffset: Int(Self.u32(bytes, at + 42)))
            guard m.compressedSize != 0xFFFF_FFFF, m.size != 0xFFFF_FFFF else {
                throw KerasImportError(
                    "\(path): member \(name) is a zip64 entry (over 4 GiB), which cnnscope does not read")
            }
            members.append(m)
            at += 46 + nameLength + extra + comment
        }
        self.members = members
    }

    /// A member's bytes, inflated and checked against its CRC-32.
    public func read(_ name: String) throws -> [UInt8] {
        guard let m = members.first(where: { $0.name == name }) else {
            throw KerasImportError(
                "\(path): the archive has no \(name) (it has \(members.map(\.name).joined(separator: ", ")))")
        }
        let at = m.localHeaderOffset
        guard at + 30 <= bytes.count, Self.u32(bytes, at) == 0x0403_4b50 else {
            throw KerasImportError("\(path): the local header of \(name) is damaged")
        }
        let start = at + 30 + Int(Self.u16(bytes, at + 26)) + Int(Self.u16(bytes, at + 28))
        guard start + m.compressedSize <= bytes.count else {
            throw KerasImportError("\(path): \(name) is cut off (the archive is truncated)")
        }
        let raw = Array(bytes[start..<(start + m.compressedSize)])
        let out: [UInt8]
        switch m.method {
        case 0: out = raw
        case 8: out = try Inflate.run(raw, format: .rawDeflate, path: "\(path): \(name)", expectedSize: m.size)
        default:
            throw KerasImportError("\(path): \(name) uses zip compression method \(m.method); only stored and deflate")
        }
        guard out.count == m.size, Inflate.crc32(out) == m.crc else {
            throw KerasImportError("\(path): \(name) fails its CRC-32 check (the archive is damaged)")
        }
        return out
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}

/// A Keras file cnnscope cannot import, worded for the user: the file, the layer, what to do.
public struct KerasImportError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
