import Figures
import Foundation
import Roofline

/// A layer on a machine's roofline: FLOP per byte and attained GFLOP/s (measured time, modelled work).
public struct MergedPoint: Codable, Equatable, Sendable {
    public var label: String
    public var algorithm: String
    public var intensity: Double
    public var gflops: Double
}

/// One machine of a merged report, with its own ceilings.
public struct MergedMachine: Codable, Equatable, Sendable {
    public var identity: String
    public var host: String
    public var cpuModel: String
    public var cores: Int
    public var simd: [String]
    public var roofline: Roofline
}

/// One (machine, model, setting, algorithm), merged over its repeated runs.
public struct MergedRow: Codable, Equatable, Sendable {
    public var machine: String
    public var model: String
    public var batchSize: Int
    public var threads: Int
    public var bind: String
    public var phase: String
    public var algorithm: String
    public var imagesPerSecond: Timing
    public var msPerImage: Timing
    /// Whole-model efficiency against the machine's own ceilings (median over runs).
    public var efficiency: Double?
    /// The memory level or ceiling that bounds most of the model's time.
    public var boundingLevel: String
    /// Speed against the baseline machine on the same model and setting.
    public var ratioToBaseline: Double?
    public var sources: [String]

    public var setting: String { "batch \(batchSize), \(threads) thr, \(bind)" }
}

/// Per layer of one model and setting: the algorithm each machine found fastest, and auto's choice.
public struct MergedLayerChoice: Codable, Equatable, Sendable {
    public var model: String
    public var setting: String
    public var layer: String
    public var bestByMachine: [String: String]
    public var autoByMachine: [String: String]
    public var autoDiffers: Bool { Set(autoByMachine.values).count > 1 }
    public var bestDiffers: Bool { Set(bestByMachine.values).count > 1 }
}

/// Many run files from many machines, as one report: machines × models, the best algorithm per
/// layer on each machine and where auto's choice differs, rooflines side by side, a ranking
/// against a baseline machine. Pure: the runs are read elsewhere.
public struct CrossMachineReport: Codable, Equatable, Sendable {
    public static let currentSchema = "cnnscope.merged/1"
    public var schema = CrossMachineReport.currentSchema
    public var createdAt: String
    public var baseline: String?
    public var machines: [MergedMachine]
    public var rows: [MergedRow]
    public var layers: [MergedLayerChoice]
    /// Runs left out (another schema, damaged, failed tasks) and other remarks.
    public var notes: [String]
    /// The layer marked on every machine's roofline (the slowest conv layer of the first model).
    public var markedLayer: String?
    /// Per machine: roofline points (label, algorithm, FLOP/byte, GFLOP/s) of the marked model's best runs.
    public var points: [String: [MergedPoint]]

    /// Merges the runs (each with the file it came from). `baseline` names a machine identity;
    /// the default is the first machine.
    public static func merge(
        _ runs: [(report: ProfileReport, source: String)], baseline: String?, notes: [String], createdAt: String
    ) -> CrossMachineReport {
        var machines: [String: MergedMachine] = [:]
        var order: [String] = []
        for (r, _) in runs {
            let id = r.machine.identity ?? r.machine.host
            if machines[id] == nil {
                order.append(id)
                machines[id] = MergedMachine(
                    identity: id, host: r.machine.host, cpuModel: r.machine.cpuModel, cores: r.machine.cores,
                    simd: r.machine.simd, roofline: r.roofline)
            }
        }
        var notes = notes
        let base = baseline ?? order.first
        if let b = baseline, machines[b] == nil {
            notes.append(
                "Baseline \(b) has no runs here; ratios are left out (machines: \(order.joined(separator: ", "))).")
        }
        // Group repeated runs of one machine, model, setting and algorithm.
        struct Key: Hashable { var machine, model, bind, phase, algorithm: String; var batch, threads: Int }
        var groups: [Key: [(AlgorithmRun, ProfileReport, String)]] = [:]
        var keyOrder: [Key] = []
        for (r, src) in runs {
            for a in r.runs {
                let k = Key(
                    machine: r.machine.identity ?? r.machine.host, model: r.model, bind: r.bind, phase: r.phase,
                    algorithm: a.algorithm, batch: r.batchSize, threads: r.threads)
                if groups[k] == nil { keyOrder.append(k) }
                groups[k, default: []].append((a, r, src))
            }
        }
        var rows = keyOrder.map { k -> MergedRow in
            let g = groups[k]!
            let eff = Timing(g.compactMap { $0.0.totals.efficiency.value }).median
            return MergedRow(
                machine: k.machine, model: k.model, batchSize: k.batch, threads: k.threads, bind: k.bind,
                phase: k.phase,
                algorithm: k.algorithm,
                imagesPerSecond: Timing(g.compactMap { $0.0.totals.imagesPerSecond.value }),
                msPerImage: Timing(g.compactMap { $0.0.totals.latencyMsPerImage.value }),
                efficiency: eff.isNaN ? nil : eff, boundingLevel: boundingLevel(g[0].0), ratioToBaseline: nil,
                sources: g.map(\.2))
        }
        if let b = base {
            for i in rows.indices {
                let r = rows[i]
                if let ref = rows.first(where: {
                    $0.machine == b && $0.model == r.model && $0.batchSize == r.batchSize && $0.threads == r.threads
                        && $0.bind == r.bind && $0.phase == r.phase && $0.algorithm == r.algorithm
                }), ref.imagesPerSecond.median > 0 {
                    rows[i].ratioToBaseline = r.imagesPerSecond.median / ref.imagesPerSecond.median
                }
            }
        }
        let (layers, marked, points) = layerChoices(runs.map(\.report), machines: order)
        return CrossMachineReport(
            createdAt: createdAt, baseline: base, machines: order.compactMap { machines[$0] }, rows: rows,
            layers: layers, notes: notes, markedLayer: marked, points: points)
    }

    /// The level (or compute ceiling) under which most of the run's time was spent.
    static func boundingLevel(_ a: AlgorithmRun) -> String {
        var time: [String: Double] = [:]
        for l in a.layers { time[l.boundLevel ?? l.bound, default: 0] += l.medianSeconds.value ?? 0 }
        return time.max { $0.value < $1.value }?.key ?? "—"
    }

    static func layerChoices(_ reports: [ProfileReport], machines: [String]) -> (
        [MergedLayerChoice], String?, [String: [MergedPoint]]
    ) {
        var choices: [String: MergedLayerChoice] = [:]
        var order: [String] = []
        for r in reports {
            let m = r.machine.identity ?? r.machine.host
            let setting = "batch \(r.batchSize), \(r.threads) thr, \(r.bind)"
            let auto = r.runs.first { $0.algorithm == "auto" }
            for (layer, best) in r.bestPerLayer.sorted(by: { $0.key < $1.key }) {
                let key = "\(r.model)|\(setting)|\(layer)"
                if choices[key] == nil {
                    order.append(key)
                    choices[key] = MergedLayerChoice(
                        model: r.model, setting: setting, layer: layer, bestByMachine: [:], autoByMachine: [:])
                }
                choices[key]!.bestByMachine[m] = best
                if let a = auto?.layers.first(where: { $0.name == layer })?.convAlgorithm {
                    choices[key]!.autoByMachine[m] = a
                }
            }
        }
        // Mark the slowest convolution of the first report's best run on every machine's roofline.
        var marked: String?
        var points: [String: [MergedPoint]] = [:]
        if let first = reports.first,
            let run = first.runs.min(by: {
                ($0.totals.seconds.value ?? .infinity) < ($1.totals.seconds.value ?? .infinity)
            })
        {
            marked =
                run.layers.filter { $0.convAlgorithm != nil }.max {
                    ($0.medianSeconds.value ?? 0) < ($1.medianSeconds.value ?? 0)
                }?.name
            for r in reports where r.model == first.model && points[r.machine.identity ?? r.machine.host] == nil {
                guard
                    let best = r.runs.min(by: {
                        ($0.totals.seconds.value ?? .infinity) < ($1.totals.seconds.value ?? .infinity)
                    })
                else { continue }
                points[r.machine.identity ?? r.machine.host] = best.layers.compactMap { l in
                    guard let i = l.intensity.value, let g = l.attainedGFLOPs.value, i > 0, g > 0 else { return nil }
                    return MergedPoint(label: l.name, algorithm: l.convAlgorithm ?? l.type, intensity: i, gflops: g)
                }
            }
        }
        return (order.compactMap { choices[$0] }, marked, points)
    }
}
