import ArgumentParser
import Foundation
import Profiling

/// The process's side of the tool: its environment, its Profiles folder, and the terminal.
enum Console {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var executable: URL { URL(fileURLWithPath: CommandLine.arguments[0]) }
    static var profiles: ProfilesFolder? { ProfilesFolder.locate(environment: environment, executable: executable) }

    /// Progress lines reach a log file as they are printed, not when the buffer fills.
    static func lineBuffered() { setvbuf(stdout, nil, _IOLBF, 0) }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("cnnscope: " + message + "\n").utf8))
    }

    /// `cnnscope --version`: the version and the Profiles folder in use.
    static var versionText: String { "\(Cnnscope.version)\n" + ProfilesFolder.describe(profiles) }

    /// A library check run from `validate()`, its error shown with the usage.
    static func validating(_ check: () throws -> Void) throws {
        do { try check() } catch { throw ValidationError("\(error)") }
    }
}
