import Figures
import Foundation
import Roofline

/// A merged cross-machine report as JSON, CSV, Markdown and one self-contained HTML page. No I/O.
public enum CrossMachineRenderer {
    static func f(_ v: Double?, _ d: Int = 2) -> String {
        guard let v = v, v.isFinite else { return "—" }
        return String(format: "%.\(d)f", v)
    }

    static func pct(_ v: Double?) -> String { v.map { f($0 * 100, 0) + "%" } ?? "—" }

    static func spread(_ m: Timing, _ d: Int = 1) -> String {
        m.samples > 1 ? "\(f(m.median, d)) (\(f(m.min, d))–\(f(m.max, d)), \(m.samples) runs)" : f(m.median, d)
    }

    public static func json(_ r: CrossMachineReport) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try enc.encode(r), as: UTF8.self) + "\n"
    }

    public static func csv(_ r: CrossMachineReport) -> String {
        var s =
            CSVRow.line([
                "machine", "model", "batch_size", "threads", "bind", "phase", "algorithm", "runs",
                "images_per_second_median",
                "images_per_second_min", "images_per_second_max", "ms_per_image_median", "efficiency", "bounding_level",
                "ratio_to_baseline",
            ]) + "\n"
        for x in r.rows {
            s +=
                CSVRow.line([
                    x.machine, x.model, String(x.batchSize), String(x.threads), x.bind, x.phase, x.algorithm,
                    String(x.imagesPerSecond.samples), f(x.imagesPerSecond.median, 3), f(x.imagesPerSecond.min, 3),
                    f(x.imagesPerSecond.max, 3), f(x.msPerImage.median, 4), f(x.efficiency, 4), x.boundingLevel,
                    f(x.ratioToBaseline, 3),
                ]) + "\n"
        }
        return s
    }

    /// The best algorithm per row group: for each (machine, model, setting) the fastest algorithm's row.
    static func bestRows(_ r: CrossMachineReport) -> [MergedRow] {
        var best: [String: MergedRow] = [:]
        var order: [String] = []
        for x in r.rows {
            let k = "\(x.machine)|\(x.model)|\(x.setting)|\(x.phase)"
            if best[k] == nil { order.append(k) }
            if best[k].map({ $0.imagesPerSecond.median < x.imagesPerSecond.median }) ?? true { best[k] = x }
        }
        return order.compactMap { best[$0] }
    }

    /// The machines × models table's cells, one row per (model, setting, machine), best algorithm:
    /// model, setting, machine, algorithm, images/s, ms/image, efficiency, bound by, × baseline.
    static func summaryCells(_ r: CrossMachineReport) -> [[String]] {
        bestRows(r).sorted { ($0.model, $0.setting, $0.machine) < ($1.model, $1.setting, $1.machine) }.map { x in
            [
                x.model, x.setting, x.machine, x.algorithm, spread(x.imagesPerSecond), f(x.msPerImage.median, 3),
                pct(x.efficiency), x.boundingLevel, f(x.ratioToBaseline),
            ]
        }
    }

    public static func markdown(_ r: CrossMachineReport) -> String {
        var s = "# cnnscope: \(r.machines.count) machines, \(Set(r.rows.map(\.model)).count) models\n\n"
        s += "Merged \(r.createdAt). Times are measured (timer); efficiency is against each machine's own ceilings.\n\n"
        s += "## Machines\n\n| identity | host | CPU | cores | SIMD | compute roof GFLOP/s | DRAM GB/s |\n"
        s += "|---|---|---|---:|---|---:|---:|\n"
        for m in r.machines {
            let base = m.identity == r.baseline ? " (baseline)" : ""
            s += "| \(m.identity)\(base) | \(m.host) | \(m.cpuModel) | \(m.cores) | \(m.simd.joined(separator: " ")) | "
            s += "\(f(m.roofline.computeGFLOPs, 1)) | \(f(m.roofline.memory?.gbPerSecond, 1)) |\n"
        }
        s += "\n## Machines × models (best algorithm per setting)\n\n"
        s += "| model | setting | machine | algorithm | images/s (median, min–max) | ms/image | efficiency | "
        s += "bound by | × baseline |\n"
        s += "|---|---|---|---|---:|---:|---:|---|---:|\n"
        for cells in summaryCells(r) { s += "| " + cells.joined(separator: " | ") + " |\n" }
        s += "\n## Ranking (images/s of the best algorithm, summed over every model and setting the machines share)\n\n"
        for (i, e) in ranking(r).enumerated() {
            s += "\(i + 1). \(e.machine): \(f(e.ratio))× the baseline (geometric mean over \(e.count) settings)\n"
        }
        s += "\n## Every algorithm\n\n"
        s += "| machine | model | setting | algorithm | images/s | efficiency | bound by | × baseline |\n"
        s += "|---|---|---|---|---:|---:|---|---:|\n"
        for x in r.rows {
            s += "| \(x.machine) | \(x.model) | \(x.setting) | \(x.algorithm) | \(spread(x.imagesPerSecond)) | "
            s += "\(pct(x.efficiency)) | "
            s += "\(x.boundingLevel) | \(f(x.ratioToBaseline)) |\n"
        }
        s += "\n## Best algorithm per layer, and auto's choice\n\n"
        let ms = r.machines.map(\.identity)
        s +=
            "| model | setting | layer | " + ms.map { "\($0) best / auto" }.joined(separator: " | ")
            + " | auto differs |\n"
        s += "|---|---|---|" + ms.map { _ in "---|" }.joined() + "---|\n"
        for l in r.layers {
            s += "| \(l.model) | \(l.setting) | \(l.layer) | "
            s += ms.map { "\(l.bestByMachine[$0] ?? "—") / \(l.autoByMachine[$0] ?? "—")" }.joined(separator: " | ")
            s += " | \(l.autoDiffers ? "**yes**" : "no") |\n"
        }
        if !r.notes.isEmpty { s += "\n## Notes\n\n" + r.notes.map { "- \($0)\n" }.joined() }
        return s
    }

    /// Per machine: the geometric mean of its speed ratio to the baseline over the settings both ran.
    public static func ranking(_ r: CrossMachineReport) -> [(machine: String, ratio: Double, count: Int)] {
        let best = bestRows(r)
        return r.machines.map { m in
            let ratios = best.filter { $0.machine == m.identity }.compactMap { x -> Double? in
                guard
                    let ref = best.first(where: {
                        $0.machine == r.baseline && $0.model == x.model && $0.setting == x.setting
                            && $0.phase == x.phase
                    }), ref.imagesPerSecond.median > 0
                else { return nil }
                return x.imagesPerSecond.median / ref.imagesPerSecond.median
            }
            let g = ratios.isEmpty ? Double.nan : exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count))
            return (m.identity, g, ratios.count)
        }.sorted { ($0.ratio.isNaN ? -1 : $0.ratio) > ($1.ratio.isNaN ? -1 : $1.ratio) }
    }

    public static func html(_ r: CrossMachineReport) -> String {
        let esc = HTMLRenderer.escape
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>cnnscope: merged report</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0}
            td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#eee}.num{text-align:right}
            .differs{background:#fff3cd}.roofs{display:flex;flex-wrap:wrap;gap:12px}.roofs figure{margin:0}</style>
            </head><body>

            """
        h += "<h1>cnnscope: \(r.machines.count) machines, \(Set(r.rows.map(\.model)).count) models</h1>\n"
        h += "<p>Merged \(esc(r.createdAt)). Times are measured (timer); efficiency is against each machine's own "
        h += "ceilings; baseline: \(esc(r.baseline ?? "none")).</p>\n<h2>Machines</h2>\n<table><tr><th>identity</th>"
        h +=
            "<th>host</th><th>CPU</th><th>cores</th><th>SIMD</th><th>compute roof GFLOP/s</th><th>DRAM GB/s</th></tr>\n"
        for m in r.machines {
            h += "<tr><td>\(esc(m.identity))</td><td>\(esc(m.host))</td><td>\(esc(m.cpuModel))</td>"
            h += "<td class=num>\(m.cores)</td><td>\(esc(m.simd.joined(separator: " ")))</td>"
            h += "<td class=num>\(f(m.roofline.computeGFLOPs, 1))</td>"
            h += "<td class=num>\(f(m.roofline.memory?.gbPerSecond, 1))</td></tr>\n"
        }
        h += "</table>\n<h2>Machines × models (best algorithm per setting)</h2>\n"
        h += "<table><tr><th>model</th><th>setting</th>"
        h += "<th>machine</th><th>algorithm</th><th>images/s</th><th>ms/image</th><th>efficiency</th><th>bound by</th>"
        h += "<th>× baseline</th></tr>\n"
        let numeric: Set<Int> = [4, 5, 6, 8]
        for cells in summaryCells(r) {
            h +=
                "<tr>"
                + cells.enumerated().map {
                    "<td\(numeric.contains($0.offset) ? " class=num" : "")>\(esc($0.element))</td>"
                }
                .joined() + "</tr>\n"
        }
        h += "</table>\n<h2>Ranking</h2>\n<ol>\n"
        for e in ranking(r) {
            h += "<li>\(esc(e.machine)): \(f(e.ratio))× the baseline (geometric mean over \(e.count) settings)</li>\n"
        }
        h += "</ol>\n<h2>Best algorithm per layer, and auto's choice</h2>\n"
        h += "<table><tr><th>model</th><th>setting</th><th>layer</th>"
        for m in r.machines { h += "<th>\(esc(m.identity))<br>best / auto</th>" }
        h += "</tr>\n"
        for l in r.layers {
            h += "<tr\(l.autoDiffers ? " class=differs" : "")><td>\(esc(l.model))</td><td>\(esc(l.setting))</td>"
            h += "<td>\(esc(l.layer))</td>"
            for m in r.machines {
                let best = l.bestByMachine[m.identity] ?? "—", auto = l.autoByMachine[m.identity] ?? "—"
                h += "<td>\(esc(best)) / \(esc(auto))</td>"
            }
            h += "</tr>\n"
        }
        h += "</table>\n<p>Highlighted rows: auto chose differently on different machines.</p>\n"
        h += "<h2>Rooflines side by side</h2>\n<p>Each machine's own roofs; the marked layer: "
        h += "<b>\(esc(r.markedLayer ?? "none"))</b> (its label ends in ★).</p>\n<div class=roofs>\n"
        for m in r.machines {
            let pts = (r.points[m.identity] ?? []).map {
                ($0.label == r.markedLayer ? "\($0.label) ★" : $0.label, $0.algorithm, $0.intensity, $0.gflops)
            }
            let algs = Array(Set(pts.map(\.1))).sorted()
            h += "<figure><figcaption>\(esc(m.identity))</figcaption>\n"
            h += HTMLRenderer.rooflineSVG(m.roofline, points: pts, algorithms: algs, width: 620, height: 400)
            h += "</figure>\n"
        }
        h += "</div>\n<h2>Every algorithm</h2>\n<pre>\(esc(csv(r)))</pre>\n"
        if !r.notes.isEmpty { h += "<h2>Notes</h2>\n<ul>" + r.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n" }
        return h + "</body></html>\n"
    }
}
