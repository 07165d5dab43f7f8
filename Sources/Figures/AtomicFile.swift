import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes through a temporary file in the same folder and a rename, so a reader never sees half
/// a file and an interrupted run leaves none behind. The one file writer of every module.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, executable: Bool = false) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: tmp)
            if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tmp.path) }
            guard rename(tmp.path, url.path) == 0 else {
                throw AtomicFileError(description: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw AtomicFileError(description: "cannot write \(path): \(error)")
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
}

/// A file that could not be written, worded for the user.
public struct AtomicFileError: Error, CustomStringConvertible {
    public let description: String
}
