import Figures
import Foundation
import Hardware
import Kernels

/// What cnnscope measured about one machine and reuses: its ceilings and the algorithm `auto`
/// chose per layer shape. Keyed by `MachineIdentity`; the host name is kept only as a label.
/// Lives in the user's cache directory (`MachineRecordStore`), never in the source tree.
public struct MachineRecord: Codable, Sendable {
    public static let currentSchema = "cnnscope.machine/2"

    public var schema = MachineRecord.currentSchema
    public var identity: MachineIdentity
    /// `identity.name` when the record was written (readable in a directory listing).
    public var identityName: String
    public var host: String
    public var cpuModel: String
    public var updated: String
    public var ceilings: MachineCeilings?
    public var algorithmChoices = AlgorithmChoiceCache()

    public init(
        identity: MachineIdentity, host: String, cpuModel: String, updated: String = MachineRecord.now(),
        ceilings: MachineCeilings? = nil, algorithmChoices: AlgorithmChoiceCache = AlgorithmChoiceCache()
    ) {
        self.identity = identity
        identityName = identity.name
        self.host = host
        self.cpuModel = cpuModel
        self.updated = updated
        self.ceilings = ceilings
        self.algorithmChoices = algorithmChoices
    }

    public static func now() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// Decodes a record, or says in one line why the bytes are not one.
    public static func decode(_ data: Data) throws -> MachineRecord {
        struct Head: Decodable { var schema: String? }
        let head = try? JSONDecoder().decode(Head.self, from: data)
        guard let schema = head?.schema else { throw MachineStoreError.notARecord("not JSON with a 'schema' field") }
        guard schema == currentSchema else {
            throw MachineStoreError.notARecord("schema '\(schema)', expected '\(currentSchema)'")
        }
        do { return try JSONDecoder().decode(MachineRecord.self, from: data) } catch {
            throw MachineStoreError.notARecord("\(error)")
        }
    }

    public func encoded() throws -> Data {
        try JSONText.data(self) + Data("\n".utf8)
    }
}

public enum MachineStoreError: Error, CustomStringConvertible, Equatable {
    case notARecord(String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notARecord(let why): return "not a cnnscope machine record (\(why))"
        case .unreadable(let path, let reason): return "\(path): \(reason)"
        }
    }
}
