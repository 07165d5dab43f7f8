import Foundation
import Hardware

/// Finds the `Profiles/` folder (models, event sets), in this order: `$CNNSCOPE_PROFILES`;
/// `share/cnnscope/Profiles` beside the executable's `bin/` (an installed copy, Scripts/install);
/// the nearest `Profiles` above the executable (a build inside the checkout); `./Profiles`.
enum ProfilesDirectory {
    /// The folder and how it was found ("$CNNSCOPE_PROFILES", "installed", "checkout", "current folder").
    static func locateWithSource() -> (url: URL, source: String)? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["CNNSCOPE_PROFILES"], !env.isEmpty {
            return (URL(fileURLWithPath: env), "$CNNSCOPE_PROFILES")
        }
        let exeDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let installed = exeDir.deletingLastPathComponent().appendingPathComponent("share/cnnscope/Profiles")
        if fm.fileExists(atPath: installed.appendingPathComponent("models").path) { return (installed, "installed") }
        var dir = exeDir
        for _ in 0..<6 {
            let p = dir.appendingPathComponent("Profiles")
            if fm.fileExists(atPath: p.appendingPathComponent("models").path) { return (p, "checkout") }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Profiles")
        if fm.fileExists(atPath: cwd.appendingPathComponent("models").path) { return (cwd, "current folder") }
        return nil
    }

    static func locate() -> URL? { locateWithSource()?.url }

    static var hostName: String { HostName.current() }

    /// `cnnscope --version`: the version and the Profiles folder in use.
    static var versionText: String {
        let where_ =
            locateWithSource().map { "profiles: \($0.url.path) (\($0.source))" }
            ?? "profiles: not found (set CNNSCOPE_PROFILES or run Scripts/install)"
        return "\(Cnnscope.version)\n\(where_)"
    }
}
