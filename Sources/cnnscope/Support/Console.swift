import Foundation

/// Writing to the terminal and to files; the only place that touches output files.
enum Console {
    /// Progress lines reach a log file as they are printed, not when the buffer fills.
    static func lineBuffered() { setvbuf(stdout, nil, _IOLBF, 0) }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("cnnscope: " + message + "\n").utf8))
    }

    /// Writes `text` to `path` through a temporary file and a rename, so an interrupted run
    /// never leaves a half-written file.
    static func writeAtomically(_ text: String, to path: String) throws {
        try writeAtomically(data: Data(text.utf8), to: path)
    }

    static func writeAtomically(data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: tmp)
            guard rename(tmp.path, url.path) == 0 else {
                throw CLIError("rename failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(value), as: UTF8.self)
    }
}

/// A one-line error for the user.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}
