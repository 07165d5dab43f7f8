import Foundation
import Hardware
import Kernels

/// The machine a run is on: its identity, and the record (ceilings, `auto` choices) it uses —
/// this machine's from the cache, or one given explicitly (used as it is, never saved).
public final class MachineSession {
    public let identity: MachineIdentity
    public private(set) var record: MachineRecord
    /// nil when the record was given explicitly.
    public let store: MachineRecordStore?
    private let log: (String) -> Void

    /// `explicitRecord`: a file from `--machine`; otherwise the record for `identity` in `store`.
    public init(
        identity: MachineIdentity, host: String, cpuModel: String, store: MachineRecordStore,
        explicitRecord: String?, log: @escaping (String) -> Void
    ) throws {
        self.identity = identity
        self.log = log
        if let path = explicitRecord {
            record = try MachineRecordStore.loadExplicit(path: path, identity: identity, log: log)
            self.store = nil
        } else {
            record = store.load(identity: identity, host: host, cpuModel: cpuModel)
            self.store = store
        }
    }

    /// Whether the record came from `--machine FILE`.
    public var isExplicit: Bool { store == nil }

    /// The ceilings of the record, measured now (and saved) when it has none, or when the cached
    /// ones came from an older measuring method (a record given with --machine is used as it is).
    public func ceilings(measure: () -> MachineCeilings) -> MachineCeilings {
        if let c = record.ceilings, isExplicit || c.methodVersion == MachineCeilings.currentMethodVersion {
            return c
        }
        if let c = record.ceilings {
            log(
                "The cached ceilings were measured with method version \(c.methodVersion.map(String.init) ?? "1") "
                    + "(now \(MachineCeilings.currentMethodVersion)): measuring them again.")
        }
        log(
            "Measuring this machine's ceilings (\(identity.name); once, then cached in "
                + "\(store?.url(for: identity).path ?? "memory"))...")
        let c = measure()
        record.ceilings = c
        store?.save(record)
        return c
    }

    /// Replaces the ceilings (a fresh `cnnscope machine --measure`) and saves them.
    public func replaceCeilings(_ c: MachineCeilings) {
        record.ceilings = c
        store?.save(record)
    }

    /// An `auto` selector over this machine's cached choices.
    public func selector(options: ConvOptions) -> AutoSelector {
        AutoSelector(cache: record.algorithmChoices, options: options, machine: identity.name)
    }

    /// Keeps the choices a selector measured (saved unless the record was given explicitly).
    public func keep(_ selector: AutoSelector) {
        guard selector.changed else { return }
        record.algorithmChoices = selector.cache
        store?.save(record)
    }
}
