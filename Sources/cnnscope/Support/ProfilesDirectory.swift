import Foundation
import Hardware

/// Finds the `Profiles/` folder: $CNNSCOPE_PROFILES, else ./Profiles, else the nearest
/// `Profiles` beside an ancestor of the executable (a build inside the repository).
enum ProfilesDirectory {
    static func locate() -> URL? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["CNNSCOPE_PROFILES"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Profiles")
        if fm.fileExists(atPath: cwd.path) { return cwd }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let p = dir.appendingPathComponent("Profiles")
            if fm.fileExists(atPath: p.appendingPathComponent("models").path) { return p }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var hostName: String { HostName.current() }
}
