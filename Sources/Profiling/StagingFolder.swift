import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a report folder could not be written.
public struct OutputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ s: String) { description = s }
}

/// A temporary folder beside the final one, renamed into place by `commit`, so an interrupted
/// run leaves no half-written report folder; removed if never committed.
public final class StagingFolder {
    public let finalURL: URL
    public let tmp: URL
    private var committed = false

    public init(finalDir: String, subfolders: [String] = []) throws {
        finalURL = URL(fileURLWithPath: finalDir)
        let fm = FileManager.default
        try fm.createDirectory(at: finalURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        tmp = finalURL.deletingLastPathComponent().appendingPathComponent(
            ".\(finalURL.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        for s in subfolders {
            try fm.createDirectory(at: tmp.appendingPathComponent(s), withIntermediateDirectories: true)
        }
    }

    deinit { if !committed { try? FileManager.default.removeItem(at: tmp) } }

    public func path(_ rel: String) -> String { tmp.appendingPathComponent(rel).path }

    public func write(_ text: String, to rel: String) throws {
        try Data(text.utf8).write(to: tmp.appendingPathComponent(rel))
    }

    public func commit() throws {
        if FileManager.default.fileExists(atPath: finalURL.path) { try FileManager.default.removeItem(at: finalURL) }
        guard rename(tmp.path, finalURL.path) == 0 else {
            throw OutputError("cannot move the report into \(finalURL.path): \(String(cString: strerror(errno)))")
        }
        committed = true
    }
}
