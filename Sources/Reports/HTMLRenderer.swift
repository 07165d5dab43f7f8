import Figures
import Foundation
import Roofline

/// One self-contained HTML page (well-formed XML, no external scripts, fonts or images) with an
/// SVG log-log roofline, per-layer time bars by algorithm, the tables and the provenance.
public enum HTMLRenderer {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    static func fmt(_ v: Double?, _ d: Int = 2) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.\(d)f", v)
    }

    /// Points: (label, algorithm, intensity, GFLOP/s). Colour by algorithm, labelled by layer.
    /// Hierarchical (default): one bandwidth roof per level, each running up to the compute
    /// roof, and every measured compute ceiling. Classic: the DRAM roof and the top compute roof.
    public static func rooflineSVG(
        _ roof: Roofline, points: [(String, String, Double, Double)], algorithms: [String],
        classic: Bool = false, width: Double = 760, height: Double = 460
    ) -> String {
        let ml = 70.0, mr = 150.0, mt = 20.0, mb = 50.0
        let pw = width - ml - mr, ph = height - mt - mb
        let xs = points.map(\.2).filter { $0.isFinite && $0 > 0 }
        let ys = points.map(\.3).filter { $0.isFinite && $0 > 0 }
        let bandwidths = classic ? roof.memory.map { [$0] } ?? [] : roof.bandwidths
        let computes =
            classic || roof.computeCeilings == nil
            ? [Roofline.Compute(name: roof.computeName, gflops: roof.computeGFLOPs)]
            : [Roofline.Compute(name: roof.computeName, gflops: roof.computeGFLOPs)]
                + (roof.computeCeilings ?? []).filter {
                    abs($0.gflops - roof.computeGFLOPs) > 0.02 * roof.computeGFLOPs
                }
        let fastest = bandwidths.first?.gbPerSecond ?? 1
        let lowestCompute = computes.map(\.gflops).min() ?? roof.computeGFLOPs
        let xmin = pow(
            10, floor(log10(min(xs.min() ?? 0.1, lowestCompute / fastest / 10, (roof.ridgeIntensity ?? 1) / 10))))
        let xmax = pow(10, ceil(log10(max(xs.max() ?? 100, (roof.ridgeIntensity ?? 1) * 10))))
        let ymin = pow(10, floor(log10(max(1e-3, min(ys.min() ?? 0.1, lowestCompute / 1000)))))
        let ymax = pow(10, ceil(log10(roof.computeGFLOPs * 1.5)))
        func X(_ v: Double) -> Double { ml + (log10(v) - log10(xmin)) / (log10(xmax) - log10(xmin)) * pw }
        func Y(_ v: Double) -> Double { mt + ph - (log10(v) - log10(ymin)) / (log10(ymax) - log10(ymin)) * ph }
        var s =
            """
            <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" \
            viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n
            """
        s += "<rect x=\"\(ml)\" y=\"\(mt)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"#fbfbfb\" stroke=\"#999\"/>\n"
        var d = xmin
        while d <= xmax * 1.0001 {
            s += "<line x1=\"\(fmt(X(d)))\" y1=\"\(mt)\" x2=\"\(fmt(X(d)))\" y2=\"\(mt + ph)\" stroke=\"#e3e3e3\"/>"
            s +=
                """
                <text x=\"\(fmt(X(d)))\" y=\"\(mt + ph + 15)\" \
                text-anchor=\"middle\">\(d >= 1 ? String(format: "%.0f", d) : String(format: "%g", d))</text>\n
                """
            d *= 10
        }
        d = ymin
        while d <= ymax * 1.0001 {
            s += "<line x1=\"\(ml)\" y1=\"\(fmt(Y(d)))\" x2=\"\(ml + pw)\" y2=\"\(fmt(Y(d)))\" stroke=\"#e3e3e3\"/>"
            s +=
                """
                <text x=\"\(ml - 5)\" y=\"\(fmt(Y(d) + 4))\" \
                text-anchor=\"end\">\(d >= 1 ? String(format: "%.0f", d) : String(format: "%g", d))</text>\n
                """
            d *= 10
        }
        s +=
            """
            <text x=\"\(ml + pw / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">arithmetic intensity \
            (FLOP/byte, modelled traffic)</text>\n
            """
        s +=
            """
            <text transform=\"translate(16,\(mt + ph / 2)) rotate(-90)\" text-anchor=\"middle\">GFLOP/s \
            (attained: measured time)</text>\n
            """
        // Bandwidth roofs: each diagonal runs until it meets the compute roof.
        let dashes = ["", " stroke-dasharray=\"8,3\"", " stroke-dasharray=\"4,3\"", " stroke-dasharray=\"2,2\""]
        for (i, b) in bandwidths.enumerated() {
            let ridge = roof.computeGFLOPs / b.gbPerSecond
            let x0 = max(xmin, ymin / b.gbPerSecond)
            let x1 = min(xmax, ridge)
            guard x1 > x0 else { continue }
            let dash = dashes[(bandwidths.count - 1 - i) % dashes.count]
            s +=
                """
                <line x1=\"\(fmt(X(x0)))\" y1=\"\(fmt(Y(b.gbPerSecond * x0)))\" x2=\"\(fmt(X(x1)))\" \
                y2=\"\(fmt(Y(b.gbPerSecond * x1)))\" stroke=\"#444\" \
                stroke-width=\"1.5\"\(dash)><title>\(escape(b.level)) bandwidth \(fmt(b.gbPerSecond, 1)) GB/s \
                (\(roof.provenance.rawValue))</title></line>\n
                """
            s +=
                """
                <text x=\"\(fmt(X(x0) + 4))\" y=\"\(fmt(Y(b.gbPerSecond * x0) - 4))\" \
                fill=\"#444\">\(escape(b.level)) \(fmt(b.gbPerSecond, 0)) GB/s</text>\n
                """
        }
        // Compute ceilings: from where the fastest shown bandwidth meets them, to the right edge.
        for (i, c) in computes.enumerated() {
            let xr = max(xmin, min(xmax, c.gflops / fastest))
            let w = i == 0 ? "2" : "1"
            let dash = i == 0 ? "" : " stroke-dasharray=\"6,3\""
            s +=
                """
                <line x1=\"\(fmt(X(xr)))\" y1=\"\(fmt(Y(c.gflops)))\" x2=\"\(ml + pw)\" \
                y2=\"\(fmt(Y(c.gflops)))\" stroke=\"#000\" stroke-width=\"\(w)\"\(dash)><title>\(escape(c.name)) \
                \(fmt(c.gflops, 1)) GFLOP/s (\(roof.provenance.rawValue))</title></line>\n
                """
            s +=
                """
                <text x=\"\(ml + pw - 4)\" y=\"\(fmt(Y(c.gflops) - 5))\" text-anchor=\"end\">\(escape(c.name)) \
                \(fmt(c.gflops, 1)) GFLOP/s</text>\n
                """
        }
        for (label, alg, x, y) in points where x.isFinite && x > 0 && y > 0 {
            let c = palette[(algorithms.firstIndex(of: alg) ?? 0) % palette.count]
            let cx = X(min(max(x, xmin), xmax)), cy = Y(min(max(y, ymin), ymax))
            s +=
                """
                <circle cx=\"\(fmt(cx))\" cy=\"\(fmt(cy))\" r=\"5\" fill=\"\(c)\" fill-opacity=\"0.8\" \
                stroke=\"#222\" stroke-width=\"0.5\"><title>\(escape(label)) — \(escape(alg)): \(fmt(x, 2)) \
                FLOP/B, \(fmt(y, 2)) GFLOP/s</title></circle>
                """
            s +=
                """
                <text x=\"\(fmt(cx + 6))\" y=\"\(fmt(cy - 4))\" font-size=\"8\" \
                fill=\"\(c)\">\(escape(label))</text>\n
                """
        }
        for (i, a) in algorithms.enumerated() {
            let y = mt + 14 + Double(i) * 18
            s +=
                """
                <circle cx=\"\(ml + pw + 18)\" cy=\"\(y - 4)\" r=\"5\" \
                fill=\"\(palette[i % palette.count])\"/><text x=\"\(ml + pw + 28)\" \
                y=\"\(y)\">\(escape(a))</text>\n
                """
        }
        s += "</svg>"
        return s
    }

    /// Horizontal bars: one group per layer, one bar per algorithm (median time).
    public static func timeBarsSVG(
        layers: [String], algorithms: [String], seconds: [String: [String: Double]], width: Double = 760
    ) -> String {
        let barH = 9.0, gap = 8.0, ml = 190.0, mr = 90.0
        let groupH = Double(algorithms.count) * barH + gap
        let height = Double(layers.count) * groupH + 40
        let maxT = seconds.values.flatMap(\.values).max() ?? 1
        var s =
            """
            <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" \
            viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n
            """
        for (li, l) in layers.enumerated() {
            let y0 = 10 + Double(li) * groupH
            s +=
                """
                <text x=\"\(ml - 6)\" y=\"\(fmt(y0 + Double(algorithms.count) * barH / 2 + 4))\" \
                text-anchor=\"end\">\(escape(l))</text>\n
                """
            for (ai, a) in algorithms.enumerated() {
                guard let t = seconds[l]?[a] else { continue }
                let w = max(1, t / maxT * (width - ml - mr))
                let y = y0 + Double(ai) * barH
                s +=
                    """
                    <rect x=\"\(ml)\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(barH - 1)\" \
                    fill=\"\(palette[ai % palette.count])\"><title>\(escape(l)) — \(escape(a)): \
                    \(fmt(t * 1e3, 3)) ms (measured median)</title></rect>
                    """
                s +=
                    """
                    <text x=\"\(fmt(ml + w + 4))\" y=\"\(fmt(y + barH - 1))\" font-size=\"9\">\(fmt(t * 1e3, 2)) \
                    ms</text>\n
                    """
            }
        }
        s +=
            """
            <text x=\"\(ml)\" y=\"\(fmt(height - 8))\">median time per layer (ms, measured); colours as in the \
            roofline legend</text>\n</svg>
            """
        return s
    }

    /// A counted figure's cell: the value, or "n/a" with the reason it is missing as a tooltip.
    static func countedCell(_ f: Figure?) -> String {
        guard let f else { return "<td title=\"not requested (--events)\">—</td>" }
        if let v = f.value { return "<td title=\"\(f.provenance.rawValue)\">\(fmt(v / 1e6, 2))</td>" }
        return "<td title=\"\(escape(f.unavailable ?? "not counted"))\">n/a</td>"
    }

    public static func html(_ r: ProfileReport) -> String {
        let algs = r.runs.map(\.algorithm)
        var points: [(String, String, Double, Double)] = []
        var seconds: [String: [String: Double]] = [:]
        var layerOrder: [String] = []
        for run in r.runs {
            for l in run.layers {
                let key = "\(l.name) \(l.phase == "forward" ? "" : "(\(l.phase))")".trimmingCharacters(in: .whitespaces)
                if !layerOrder.contains(key) { layerOrder.append(key) }
                if let t = l.medianSeconds.value { seconds[key, default: [:]][run.algorithm] = t }
                if let i = l.intensity.value, let g = l.attainedGFLOPs.value, (l.executedFLOPs.value ?? 0) > 0 {
                    points.append((key, run.algorithm, i, g))
                }
            }
        }
        let md = ReportRenderer.markdown(r)
        var h =
            """
            <!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta \
            charset=\"utf-8\"/>\n
            """
        h += "<title>cnnscope: \(escape(r.model)) on \(escape(r.machine.displayName))</title>\n"
        h += """
            <style>
            body { font-family: sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }
            table { border-collapse: collapse; margin: 8px 0 16px 0; font-size: 12px; }
            th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
            th { background: #f0f0f0; }
            td.l, th.l { text-align: left; }
            code { background: #f4f4f4; padding: 1px 4px; }
            .prov { color: #666; font-size: 11px; }
            </style>
            </head>
            <body>

            """
        h += "<h1>cnnscope profile: \(escape(r.model)) on \(escape(r.machine.displayName))</h1>\n"
        h +=
            """
            <p>Command: <code>\(escape(r.commandLine))</code><br/>\(escape(r.createdAt)) — batch \(r.batchSize), \
            input \(r.inputShape.map(String.init).joined(separator: "x")), \(escape(r.dataset)), \(r.threads) \
            threads (bind \(escape(r.bind))), \(r.repetitions) repetitions, \(escape(r.phase))\
            \(r.kernelISA.map { ", kernels up to \(escape($0))" } ?? "").</p>\n
            """
        if let steal = r.hostStealLine { h += "<p class=\"prov\">\(escape(steal))</p>\n" }
        h += "<h2>Roofline (hierarchical)</h2>\n" + rooflineSVG(r.roofline, points: points, algorithms: algs) + "\n"
        h +=
            """
            <p class=\"prov\">Ceilings measured on this machine by microbenchmarks (one bandwidth roof per memory \
            level, one compute ceiling per ISA); points: executed FLOPs (modelled) over measured time, at the \
            modelled algorithm traffic. Each layer is judged against the level whose traffic bounds it (the \
            table's level and ceiling columns). Hover a point for its values.</p>\n
            """
        h +=
            "<h2>Roofline (classic, DRAM only)</h2>\n"
            + rooflineSVG(r.roofline, points: points, algorithms: algs, classic: true) + "\n"
        h +=
            """
            <p class=\"prov\">The same points against DRAM alone: a point above this roof had its data in a \
            cache.</p>\n
            """
        h += "<h2>Time per layer</h2>\n" + timeBarsSVG(layers: layerOrder, algorithms: algs, seconds: seconds) + "\n"
        h +=
            """
            <h2>Model totals</h2>\n<table><tr><th class=\"l\">algorithm</th><th>time \
            (ms)</th><th>images/s</th><th>latency (ms/image)</th><th>GFLOP/s</th><th>efficiency</th><th>images/s, \
            whole model</th></tr>\n
            """
        for run in r.runs {
            let t = run.totals
            h +=
                """
                <tr><td class=\"l\">\(escape(run.algorithm))</td><td>\
                \(fmt(t.seconds.value.map { $0 * 1e3 }, 3))</td><td>\(fmt(t.imagesPerSecond.value, 0))</td><td>\
                \(fmt(t.latencyMsPerImage.value, 4))</td><td>\(fmt(t.gflops.value, 1))</td><td>\
                \(ReportRenderer.pct(t.efficiency.value))</td><td>\
                \(fmt(t.unhookedImagesPerSecond?.value, 0))</td></tr>\n
                """
        }
        h += "</table>\n"
        h +=
            """
            <p>Time, images/s and latency are sums of per-layer medians; the last column times the whole model \
            without the profiler's hooks (median), as a user of the model sees it.</p>\n
            """
        if !r.bestPerLayer.isEmpty {
            let best = r.bestPerLayer.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }
            h += "<p>Best algorithm per convolution layer: " + escape(best.joined(separator: ", ")) + "</p>\n"
        }
        h +=
            """
            <h2>Layers</h2>\n<table><tr><th class=\"l\">algorithm</th><th class=\"l\">layer</th><th \
            class=\"l\">conv</th><th>median ms</th><th>min–max</th><th>GFLOP direct</th><th>GFLOP exec</th><th>MB \
            min</th><th>MB alg</th><th>MB \
            counted</th><th>FLOP/B</th><th>GFLOP/s</th><th>roof</th><th>eff.</th><th class=\"l\">level</th><th \
            class=\"l\">bounding ceiling</th><th>share</th></tr>\n
            """
        for run in r.runs {
            for l in run.layers {
                h +=
                    """
                    <tr><td class=\"l\">\(escape(run.algorithm))</td><td class=\"l\">\(escape(l.name)) \
                    (\(escape(l.type)))\(l.phase == "forward" ? "" : " " + escape(l.phase))</td><td \
                    class=\"l\">\(escape(ReportRenderer.kernelCell(l)))</td>
                    """
                h +=
                    """
                    <td>\(fmt(l.medianSeconds.value.map { $0 * 1e3 }, 3))\(l.tooShortToMeasure ? " †" : "")</td>\
                    <td>\(fmt(l.minSeconds.value.map { $0 * 1e3 }, 3))–\
                    \(fmt(l.maxSeconds.value.map { $0 * 1e3 }, 3))</td>
                    """
                h +=
                    """
                    <td>\(fmt(l.directFLOPs.value.map { $0 / 1e9 }, 4))</td><td>\
                    \(fmt(l.executedFLOPs.value.map { $0 / 1e9 }, 4))</td><td>\
                    \(fmt(l.minimumBytes.value.map { $0 / 1e6 }, 2))</td><td>\
                    \(fmt(l.algorithmBytes.value.map { $0 / 1e6 }, 2))</td>
                    """
                h += Self.countedCell(l.countedBytes)
                h +=
                    """
                    <td>\(fmt(l.intensity.value, 1))</td><td>\(fmt(l.attainedGFLOPs.value, 1))</td><td>\
                    \(fmt(l.roofGFLOPs.value, 1))</td><td \
                    title=\"\(escape(l.efficiency.unavailable ?? l.levelNote ?? ""))\">\
                    \(ReportRenderer.pct(l.efficiency.value))</td><td \
                    class=\"l\" \
                    title=\"\(escape(l.levelNote ?? ""))\">\(escape(ReportRenderer.levelText(l)))</td><td \
                    class=\"l\">\(escape(l.boundCeiling ?? l.bound))</td><td>\
                    \(ReportRenderer.pct(l.shareOfModelTime.value))</td></tr>\n
                    """
            }
        }
        h += "</table>\n<p class=\"prov\">† shorter than 20x the hook overhead: too short to measure reliably.</p>\n"
        let counterKeys = Set(r.runs.flatMap { $0.layers.flatMap { $0.counters.keys } }).sorted()
        if !counterKeys.isEmpty {
            h +=
                """
                <h2>Counters (\(escape(r.counterLevel)))</h2>\n<table><tr><th class=\"l\">algorithm</th><th \
                class=\"l\">layer</th>
                """
                + counterKeys.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            for run in r.runs {
                for l in run.layers {
                    h += "<tr><td class=\"l\">\(escape(run.algorithm))</td><td class=\"l\">\(escape(l.name))</td>"
                    for k in counterKeys {
                        if let f = l.counters[k], let v = f.value {
                            h += "<td title=\"\(f.provenance.rawValue)\">\(String(format: "%.4g", v))</td>"
                        } else {
                            h += "<td title=\"\(escape(l.counters[k]?.unavailable ?? "not counted"))\">n/a</td>"
                        }
                    }
                    h += "</tr>\n"
                }
            }
            h += "</table>\n"
        }
        h +=
            """
            <h2>Machine</h2>\n<ul>\n<li>Identity: \
            \(escape(r.machine.identity ?? "not recorded"))\
            \(r.machine.identityDetail.map { " — " + escape($0) } ?? "")</li>\
            \n<li>CPU: \
            \(escape(r.machine.cpuModel)), \(r.machine.cores) cores, \(r.machine.processingUnits) processing \
            units</li>\n
            """
        h +=
            """
            <li>Caches: \(escape(r.machine.caches.joined(separator: "; ")))</li>\n<li>SIMD: \
            \(escape(r.machine.simd.joined(separator: ", ")))</li>\n
            """
        h +=
            """
            <li>PMUs (libpfm4): \(escape(r.machine.pmus.joined(separator: ", ")))</li>\n<li>Counters: \
            \(escape(r.counterLevel))</li>\n
            """
        for n in r.counterNotes { h += "<li class=\"prov\">\(escape(n))</li>\n" }
        h += "</ul>\n<table><tr><th class=\"l\">ceiling</th><th>value</th><th class=\"l\">provenance</th></tr>\n"
        for (k, v) in r.machine.ceilings.sorted(by: { $0.key < $1.key }) {
            h +=
                """
                <tr><td class=\"l\">\(escape(k))</td><td>\(fmt(v.value, 1)) \(escape(v.unit))</td><td \
                class=\"l\">\(v.provenance.rawValue)</td></tr>\n
                """
        }
        h += "</table>\n<h2>Provenance</h2>\n<ul>\n"
        for line in md.split(separator: "\n").drop(while: { $0 != "## Provenance" }).dropFirst()
        where line.hasPrefix("- ") {
            h += "<li>\(escape(String(line.dropFirst(2)).replacingOccurrences(of: "**", with: "")))</li>\n"
        }
        h += "</ul>\n</body>\n</html>\n"
        return h
    }
}
