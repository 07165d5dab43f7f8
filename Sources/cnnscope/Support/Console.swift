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

/// Fixed-width text tables.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns aligned right (numbers); the rest left.
    var rightAligned: Set<Int> = []

    func render() -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

enum Format {
    static func bytes(_ b: Double) -> String {
        if b >= 1_073_741_824 { return String(format: "%.1f GiB", b / 1_073_741_824) }
        if b >= 1_048_576 { return String(format: "%.1f MiB", b / 1_048_576) }
        if b >= 1024 { return String(format: "%.0f KiB", b / 1024) }
        return String(format: "%.0f B", b)
    }
    static func ms(_ s: Double) -> String { String(format: s < 0.01 ? "%.3f" : "%.2f", s * 1e3) }
    static func g(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
    static func sci(_ v: Double) -> String { String(format: "%.1e", v) }
}

/// Median, min and max of repeated timings.
struct Timing: Codable {
    var median: Double
    var min: Double
    var max: Double
    var samples: Int
    init(_ xs: [Double]) {
        let s = xs.sorted()
        samples = s.count
        median = s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
        min = s.first ?? .nan
        max = s.last ?? .nan
    }
}

/// A temporary folder beside the final one, renamed into place by `commit`, so an interrupted
/// run leaves no half-written report folder; removed if never committed.
final class StagingFolder {
    let finalURL: URL
    let tmp: URL
    private var committed = false

    init(finalDir: String, subfolders: [String] = []) throws {
        finalURL = URL(fileURLWithPath: finalDir)
        let fm = FileManager.default
        try fm.createDirectory(at: finalURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        tmp = finalURL.deletingLastPathComponent().appendingPathComponent(".\(finalURL.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        for s in subfolders { try fm.createDirectory(at: tmp.appendingPathComponent(s), withIntermediateDirectories: true) }
    }

    deinit { if !committed { try? FileManager.default.removeItem(at: tmp) } }

    func path(_ rel: String) -> String { tmp.appendingPathComponent(rel).path }

    func write(_ text: String, to rel: String) throws { try Data(text.utf8).write(to: tmp.appendingPathComponent(rel)) }

    func commit() throws {
        if FileManager.default.fileExists(atPath: finalURL.path) { try FileManager.default.removeItem(at: finalURL) }
        guard rename(tmp.path, finalURL.path) == 0 else {
            throw CLIError("cannot move the report into \(finalURL.path): \(String(cString: strerror(errno)))")
        }
        committed = true
    }
}
