import Foundation
import Hardware
import Kernels

/// The per-machine cache: `<directory>/machines/<identity name>.json`, by default under
/// `$XDG_CACHE_HOME/cnnscope` (`~/.cache/cnnscope`). A record that is corrupt, of another schema
/// or of another identity is set aside (renamed with a suffix) with a warning and measured anew,
/// never trusted; a directory that cannot be written is reported once and the run goes on
/// without saving.
public final class MachineRecordStore {
    /// The cache root (`machines/` lives below it).
    public let directory: URL
    private let log: (String) -> Void
    private var saveFailed = false

    /// `log` receives one-line warnings (the tool prints them to standard error).
    public init(directory: URL, log: @escaping (String) -> Void) {
        self.directory = directory
        self.log = log
    }

    /// The cache root: `explicit` (`--cache-dir`), else `CNNSCOPE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/cnnscope`, else `$HOME/.cache/cnnscope`. Pure: the caller passes the
    /// environment.
    public static func defaultDirectory(explicit: String?, environment: [String: String]) -> URL {
        if let e = explicit, !e.isEmpty { return URL(fileURLWithPath: e) }
        if let e = environment["CNNSCOPE_CACHE_DIR"], !e.isEmpty { return URL(fileURLWithPath: e) }
        if let x = environment["XDG_CACHE_HOME"], x.hasPrefix("/") {
            return URL(fileURLWithPath: x).appendingPathComponent("cnnscope")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/cnnscope")
    }

    public func url(for identity: MachineIdentity) -> URL {
        directory.appendingPathComponent("machines/\(identity.name).json")
    }

    /// This machine's record, or a fresh one (no ceilings, no choices) when there is none or the
    /// stored one cannot be trusted.
    public func load(identity: MachineIdentity, host: String, cpuModel: String) -> MachineRecord {
        let fresh = MachineRecord(identity: identity, host: host, cpuModel: cpuModel)
        let u = url(for: identity)
        guard let data = FileManager.default.contents(atPath: u.path) else { return fresh }
        let record: MachineRecord
        do { record = try MachineRecord.decode(data) } catch {
            setAside(u, suffix: "corrupt", why: "\(error)")
            return fresh
        }
        guard record.identity == identity else {
            setAside(
                u, suffix: "foreign", why: "it describes \(record.identity.name), not this machine (\(identity.name))")
            return fresh
        }
        return record
    }

    /// Writes the record (temporary file, then rename). Returns false, after one warning per
    /// store, when the directory cannot be written.
    @discardableResult
    public func save(_ record: MachineRecord) -> Bool {
        var r = record
        r.updated = MachineRecord.now()
        let u = url(for: r.identity)
        do {
            try FileManager.default.createDirectory(
                at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            let tmp = u.deletingLastPathComponent().appendingPathComponent(".\(u.lastPathComponent).\(getpid()).tmp")
            try r.encoded().write(to: tmp)
            if rename(tmp.path, u.path) != 0 {
                let e = errno
                try? FileManager.default.removeItem(at: tmp)
                throw MachineStoreError.unreadable(path: u.path, reason: String(cString: strerror(e)))
            }
            return true
        } catch {
            if !saveFailed {
                log(
                    "warning: cannot write the machine cache in \(directory.path) (\(error)); measuring without saving "
                        + "(set --cache-dir or CNNSCOPE_CACHE_DIR to a writable folder)")
                saveFailed = true
            }
            return false
        }
    }

    private func setAside(_ u: URL, suffix: String, why: String) {
        let stamp = Int(Date().timeIntervalSince1970)
        let dest = u.deletingPathExtension().appendingPathExtension("\(suffix)-\(stamp).json")
        let moved = (try? FileManager.default.moveItem(at: u, to: dest)) != nil
        log("warning: \(u.path): \(why); \(moved ? "set aside as \(dest.lastPathComponent) and " : "")measuring again")
    }

    /// A record given explicitly (`--machine FILE`): used as it is, never saved; says so, and
    /// warns when it describes another machine.
    public static func loadExplicit(path: String, identity: MachineIdentity, log: (String) -> Void) throws
        -> MachineRecord
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MachineStoreError.unreadable(path: path, reason: "cannot read the machine record")
        }
        let record: MachineRecord
        do { record = try MachineRecord.decode(data) } catch {
            throw MachineStoreError.unreadable(
                path: path, reason: "\(error); give a file written by cnnscope machine --measure")
        }
        let whose =
            record.identity == identity
            ? "this machine" : "another machine, \(record.identity.name) (this one is \(identity.name))"
        log("using the machine record \(path) as given (measured on \(whose)); it is not updated")
        return record
    }
}
