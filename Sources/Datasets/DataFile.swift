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
        try Inflate.run(input, format: .gzip, path: path)
    }
}
