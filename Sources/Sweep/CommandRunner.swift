import Foundation

/// What a command printed and how it ended.
public struct CommandResult: Equatable, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status; self.stdout = stdout; self.stderr = stderr
    }
}

/// Runs Slurm's commands (sbatch, squeue, sacct). Tests give a scripted one; the tool the real one.
public protocol CommandRunner {
    /// The executable's path when `name` is on PATH, else nil.
    func locate(_ name: String) -> String?
    func run(_ argv: [String]) throws -> CommandResult
}

/// Runs commands as child processes, found on PATH.
public struct ProcessCommandRunner: CommandRunner {
    public let environment: [String: String]
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) { self.environment = environment }

    public func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    public func run(_ argv: [String]) throws -> CommandResult {
        guard let exe = locate(argv[0]) else { throw SweepError("\(argv[0]): not found on PATH") }
        let p = Process()
        p.standardInput = FileHandle.nullDevice  // children never read this process's input
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = Array(argv.dropFirst())
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw SweepError("\(argv[0]): cannot start: \(error.localizedDescription)") }
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CommandResult(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }
}

/// A command line as a shell reads it back: every argument single-quoted where needed.
public enum ShellQuote {
    public static func word(_ s: String) -> String {
        let plain = s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%{}".contains($0) }
        return plain && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func line(_ argv: [String]) -> String { argv.map(word).joined(separator: " ") }
}
