import Figures
import Foundation
import Roofline

/// Two runs side by side: totals and per-layer medians with ratios B/A, and a combined roofline.
public enum ComparisonRenderer {
    static func f(_ v: Double?, _ d: Int = 3) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.\(d)f", v)
    }

    static func label(_ r: ProfileReport) -> String {
        "\(r.machine.displayName), \(r.threads) thr, batch \(r.batchSize)"
    }

    /// A warning when the two runs come from different machines (by identity; the host name is
    /// only a label), or when either predates identities and that cannot be told.
    public static func machineNote(_ a: ProfileReport, _ b: ProfileReport) -> String? {
        switch (a.machine.identity, b.machine.identity) {
        case let (x?, y?) where x == y: return nil
        case let (x?, y?):
            return "A and B ran on different machines (\(x) vs \(y)): the ratios compare machines as well as settings."
        default:
            return "One run has no machine identity (written by an older cnnscope): whether A and B ran on the same "
                + "machine cannot be told (hosts \(a.machine.host) and \(b.machine.host))."
        }
    }

    public static func markdown(_ a: ProfileReport, _ b: ProfileReport, names: [String]) -> String {
        var md = [
            "# cnnscope comparison: \(a.model) vs \(b.model)", "",
            "- A: `\(names[0])` — \(label(a)), \(a.machine.cpuModel), \(a.createdAt)",
            "- B: `\(names[1])` — \(label(b)), \(b.machine.cpuModel), \(b.createdAt)", "",
        ]
        if let note = machineNote(a, b) { md += ["**\(note)**", ""] }
        md += [
            "## Totals (measured)", "", "| algorithm | A ms | B ms | B/A time | A GFLOP/s | B GFLOP/s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for ra in a.runs {
            guard let rb = b.runs.first(where: { $0.algorithm == ra.algorithm }) else { continue }
            let ta = ra.totals.seconds.value, tb = rb.totals.seconds.value
            md.append(
                """
                | \(ra.algorithm) | \(f(ta.map { $0 * 1e3 })) | \(f(tb.map { $0 * 1e3 })) | \
                \(f(ta.flatMap { x in tb.map { $0 / x } }, 2)) | \(f(ra.totals.gflops.value, 1)) | \
                \(f(rb.totals.gflops.value, 1)) |
                """
            )
        }
        md += [
            "", "## Layers (median ms, measured)", "", "| algorithm | layer | A | B | B/A |",
            "|---|---|---:|---:|---:|",
        ]
        for ra in a.runs {
            guard let rb = b.runs.first(where: { $0.algorithm == ra.algorithm }) else { continue }
            for la in ra.layers {
                guard let lb = rb.layers.first(where: { $0.name == la.name && $0.phase == la.phase }) else { continue }
                let x = la.medianSeconds.value, y = lb.medianSeconds.value
                md.append(
                    """
                    | \(ra.algorithm) | \(la.name) | \(f(x.map { $0 * 1e3 })) | \(f(y.map { $0 * 1e3 })) | \
                    \(f(x.flatMap { p in y.map { $0 / p } }, 2)) |
                    """
                )
            }
        }
        md.append("")
        md.append("Ratios B/A below 1 mean B is faster. Both runs' numbers are medians of their own repetitions.")
        return md.joined(separator: "\n") + "\n"
    }

    public static func html(_ a: ProfileReport, _ b: ProfileReport, names: [String]) -> String {
        var pts: [(String, String, Double, Double)] = []
        var algs: [String] = []
        for (tag, r) in [("A", a), ("B", b)] {
            for run in r.runs {
                let alg = "\(tag): \(run.algorithm)"
                if !algs.contains(alg) { algs.append(alg) }
                for l in run.layers {
                    if let i = l.intensity.value, let g = l.attainedGFLOPs.value { pts.append((l.name, alg, i, g)) }
                }
            }
        }
        // The combined roofline draws A's ceilings and B's as well when they differ.
        var roof = a.roofline
        if b.roofline != a.roofline {
            roof.bandwidths += b.roofline.bandwidths.map {
                Roofline.Bandwidth(level: "B " + $0.level, gbPerSecond: $0.gbPerSecond)
            }
            roof = Roofline(
                computeGFLOPs: max(a.roofline.computeGFLOPs, b.roofline.computeGFLOPs),
                computeName: "max FMA peak of A and B",
                bandwidths: roof.bandwidths, provenance: .measured)
        }
        let md = markdown(a, b, names: names)
        var h =
            """
            <!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta \
            charset=\"utf-8\"/>\n<title>cnnscope comparison</title>\n
            """
        h +=
            """
            <style>body { font-family: sans-serif; margin: 24px auto; max-width: 1100px; } pre { background: \
            #f6f6f6; padding: 8px; font-size: 12px; }</style>\n</head>\n<body>\n
            """
        h += "<h1>cnnscope comparison: \(HTMLRenderer.escape(a.model))</h1>\n"
        h += HTMLRenderer.rooflineSVG(roof, points: pts, algorithms: algs) + "\n"
        h += "<pre>\(HTMLRenderer.escape(md))</pre>\n</body>\n</html>\n"
        return h
    }
}
