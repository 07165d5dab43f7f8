import Foundation
import KerasImport
import Onnx
import Training

/// The `Profiles/` folder (models, event sets, the data-set catalog) and how it was found, in
/// this order: `$CNNSCOPE_PROFILES`; `share/cnnscope/Profiles` beside the executable's `bin/` (an
/// installed copy, Scripts/install); the nearest `Profiles` above the executable (a build inside
/// the checkout); `./Profiles`.
public struct ProfilesFolder: Sendable {
    public let url: URL
    /// "$CNNSCOPE_PROFILES", "installed", "checkout" or "current folder".
    public let source: String

    public static func locate(
        environment: [String: String], executable: URL,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> ProfilesFolder? {
        let fm = FileManager.default
        func hasModels(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("models").path) }
        if let env = environment["CNNSCOPE_PROFILES"], !env.isEmpty {
            return ProfilesFolder(url: URL(fileURLWithPath: env), source: "$CNNSCOPE_PROFILES")
        }
        let exeDir = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = exeDir.deletingLastPathComponent().appendingPathComponent("share/cnnscope/Profiles")
        if hasModels(installed) { return ProfilesFolder(url: installed, source: "installed") }
        var dir = exeDir
        for _ in 0..<6 {
            let p = dir.appendingPathComponent("Profiles")
            if hasModels(p) { return ProfilesFolder(url: p, source: "checkout") }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: currentDirectory).appendingPathComponent("Profiles")
        return hasModels(cwd) ? ProfilesFolder(url: cwd, source: "current folder") : nil
    }

    /// Where the profiles come from, for `--version`.
    public static func describe(_ folder: ProfilesFolder?) -> String {
        folder.map { "profiles: \($0.url.path) (\($0.source))" }
            ?? "profiles: not found (set CNNSCOPE_PROFILES or run Scripts/install)"
    }

    /// A subfolder (models, events, datasets).
    public func folder(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// The error for a missing folder, saying how to point cnnscope at one.
    public static func missing(_ what: String) -> ProfilesFolderError {
        ProfilesFolderError(
            description: "cannot find the Profiles/\(what) folder; run from the repository or set CNNSCOPE_PROFILES")
    }

    /// A model by name (Profiles/models/NAME.yaml), a path to a .yaml profile, an ONNX file, or a
    /// Keras 3 archive (.keras).
    public static func model(_ model: String, in folder: ProfilesFolder?) throws -> ModelProfile {
        if OnnxModelImport.isOnnx(model) { return try OnnxModelImport.load(path: model).profile }
        if KerasModelImport.isKeras(model) { return try KerasModelImport.load(path: model).profile }
        if model.hasSuffix(".yaml") || model.contains("/") { return try ModelProfile.load(path: model) }
        guard let folder else { throw missing("models") }
        return try ModelProfile.load(named: model, in: folder.folder("models"))
    }
}

/// No Profiles folder was found.
public struct ProfilesFolderError: Error, CustomStringConvertible {
    public let description: String
}
