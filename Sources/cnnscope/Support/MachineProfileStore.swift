import Foundation
import Hardware
import Kernels

/// `Profiles/machines/<host>.json`: what cnnscope measured about one machine and reuses —
/// the compute peak and the algorithm `auto` chose per layer shape.
struct MachineProfile: Codable {
    var schema = "cnnscope.machine-profile/1"
    var host: String
    var cpuModel: String
    var updated: String
    var fmaPeak: ComputePeak?
    var ceilings: MachineCeilings?
    var algorithmChoices = AlgorithmChoiceCache()
}

enum MachineProfileStore {
    static func url() -> URL? {
        ProfilesDirectory.locate()?.appendingPathComponent("machines/\(ProfilesDirectory.hostName).json")
    }

    /// Loads this host's profile; one written on another host or CPU is not reused.
    static func load(cpuModel: String) -> MachineProfile {
        let fresh = MachineProfile(host: ProfilesDirectory.hostName, cpuModel: cpuModel, updated: now())
        guard let u = url(), let data = try? Data(contentsOf: u) else { return fresh }
        guard let p = try? JSONDecoder().decode(MachineProfile.self, from: data) else {
            Console.error("warning: \(u.path) is not a valid machine profile; measuring again and replacing it")
            return fresh
        }
        guard p.host == fresh.host, p.cpuModel == cpuModel else {
            Console.error("warning: \(u.path) was measured on \(p.host) (\(p.cpuModel)); measuring again for this machine")
            return fresh
        }
        return p
    }

    static func save(_ p: MachineProfile) {
        guard let u = url() else { return }
        var p = p
        p.updated = now()
        do { try Console.writeAtomically(try Console.json(p) + "\n", to: u.path) } catch {
            Console.error("warning: could not save the machine profile: \(error)")
        }
    }

    /// The profile a run uses: the file given with --machine (used as it is, never saved), or
    /// this host's; its ceilings are measured now (and saved) when it has none.
    static func resolve(file: String?, cpu: CPUFeatures, topology: Topology, hwloc: HwlocTopology?) throws -> MachineProfile {
        var p: MachineProfile
        if let file {
            guard let d = FileManager.default.contents(atPath: file), let decoded = try? JSONDecoder().decode(MachineProfile.self, from: d) else {
                throw CLIError("\(file): not a valid machine profile (JSON written by cnnscope machine --measure)")
            }
            p = decoded
        } else {
            p = load(cpuModel: cpu.modelName)
        }
        if p.ceilings == nil {
            print("Measuring this machine's ceilings (once; saved in Profiles/machines)...")
            let pool = WorkerPool(threads: topology.cores, policy: .compact, topology: hwloc)
            p.ceilings = CeilingProbe.measure(topology: topology, features: cpu, pool: pool)
            p.fmaPeak = p.ceilings?.fma
            if file == nil { save(p) }
        }
        return p
    }

    static func now() -> String { ISO8601DateFormatter().string(from: Date()) }
}
