import Foundation

/// Small SVG charts (well-formed XML, no scripts) for the lab report.
public enum Charts {
    static let colours = HTMLRenderer.palette
    static func f(_ v: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", v) }
    static let esc = HTMLRenderer.escape

    static func header(_ w: Int, _ h: Int) -> String {
        """
        <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" \
        font-family=\"sans-serif\" font-size=\"11\">\n
        """
    }

    /// Labelled points; x on a log scale when `logX`.
    public static func scatter(
        title: String, points: [(label: String, x: Double, y: Double)], xLabel: String, yLabel: String,
        logX: Bool = false, width: Int = 460, height: Int = 320
    ) -> String {
        let ml = 60.0, mr = 20.0, mt = 28.0, mb = 44.0
        let pw = Double(width) - ml - mr, ph = Double(height) - mt - mb
        let tx: (Double) -> Double = { logX ? log10(max($0, 1e-12)) : $0 }
        let xs = points.map { tx($0.x) }, ys = points.map(\.y)
        var x0 = xs.min() ?? 0, x1 = xs.max() ?? 1, y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if x1 - x0 < 1e-12 { x0 -= 0.5; x1 += 0.5 }
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        let padX = (x1 - x0) * 0.1, padY = (y1 - y0) * 0.1
        x0 -= padX; x1 += padX; y0 -= padY; y1 += padY
        func X(_ v: Double) -> Double { ml + (tx(v) - x0) / (x1 - x0) * pw }
        func Y(_ v: Double) -> Double { mt + ph - (v - y0) / (y1 - y0) * ph }
        var s = header(width, height)
        s += "<text x=\"\(width / 2)\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(title))</text>\n"
        s += "<rect x=\"\(ml)\" y=\"\(mt)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"#fbfbfb\" stroke=\"#999\"/>\n"
        for i in 0...4 {
            let xv = x0 + (x1 - x0) * Double(i) / 4, yv = y0 + (y1 - y0) * Double(i) / 4
            let xl = logX ? String(format: "%.3g", pow(10, xv)) : String(format: "%.3g", xv)
            s +=
                "<text x=\"\(f(ml + pw * Double(i) / 4))\" y=\"\(f(mt + ph + 14))\" text-anchor=\"middle\">\(xl)</text>"
            s +=
                """
                <text x=\"\(f(ml - 4))\" y=\"\(f(mt + ph - ph * Double(i) / 4 + 4))\" \
                text-anchor=\"end\">\(String(format: "%.3g", yv))</text>\n
                """
        }
        s += "<text x=\"\(f(ml + pw / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s +=
            """
            <text transform=\"translate(12,\(f(mt + ph / 2))) rotate(-90)\" \
            text-anchor=\"middle\">\(esc(yLabel))</text>\n
            """
        for (i, p) in points.enumerated() {
            s +=
                """
                <circle cx=\"\(f(X(p.x)))\" cy=\"\(f(Y(p.y)))\" r=\"5\" \
                fill=\"\(colours[i % colours.count])\"><title>\(esc(p.label)): \(String(format: "%.4g", p.x)), \
                \(String(format: "%.4g", p.y))</title></circle>
                """
            s += "<text x=\"\(f(X(p.x) + 7))\" y=\"\(f(Y(p.y) - 5))\" font-size=\"9\">\(esc(p.label))</text>\n"
        }
        return s + "</svg>"
    }

    /// Vertical bars.
    public static func bars(
        title: String, items: [(label: String, value: Double)], yLabel: String, width: Int = 460, height: Int = 320
    ) -> String {
        let ml = 60.0, mb = 80.0, mt = 28.0
        let pw = Double(width) - ml - 20, ph = Double(height) - mt - mb
        let maxV = max(items.map(\.value).max() ?? 1, 1e-12)
        let bw = pw / Double(max(1, items.count))
        var s = header(width, height)
        s += "<text x=\"\(width / 2)\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(title))</text>\n"
        s += "<line x1=\"\(ml)\" y1=\"\(f(mt + ph))\" x2=\"\(f(ml + pw))\" y2=\"\(f(mt + ph))\" stroke=\"#999\"/>\n"
        for (i, it) in items.enumerated() {
            let h = it.value / maxV * ph
            let x = ml + Double(i) * bw + bw * 0.15
            s +=
                """
                <rect x=\"\(f(x))\" y=\"\(f(mt + ph - h))\" width=\"\(f(bw * 0.7))\" height=\"\(f(h))\" \
                fill=\"\(colours[i % colours.count])\"><title>\(esc(it.label)): \
                \(String(format: "%.4g", it.value))</title></rect>
                """
            s +=
                """
                <text x=\"\(f(x + bw * 0.35))\" y=\"\(f(mt + ph - h - 3))\" text-anchor=\"middle\" \
                font-size=\"9\">\(String(format: "%.3g", it.value))</text>
                """
            s +=
                """
                <text transform=\"translate(\(f(x + bw * 0.35)),\(f(mt + ph + 10))) rotate(40)\" \
                font-size=\"10\">\(esc(it.label))</text>\n
                """
        }
        s +=
            """
            <text transform=\"translate(14,\(f(mt + ph / 2))) rotate(-90)\" \
            text-anchor=\"middle\">\(esc(yLabel))</text>\n
            """
        return s + "</svg>"
    }

    /// Groups of bars: one group per metric, one bar per series, values already normalised to 0..1.
    public static func groupedBars(
        title: String, groups: [String], series: [(name: String, values: [Double])], width: Int = 620, height: Int = 300
    ) -> String {
        let ml = 40.0, mt = 28.0, mb = 50.0
        let pw = Double(width) - ml - 120, ph = Double(height) - mt - mb
        let gw = pw / Double(max(1, groups.count))
        let bw = gw * 0.8 / Double(max(1, series.count))
        var s = header(width, height)
        s += "<text x=\"\(width / 2)\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(title))</text>\n"
        s += "<line x1=\"\(ml)\" y1=\"\(f(mt + ph))\" x2=\"\(f(ml + pw))\" y2=\"\(f(mt + ph))\" stroke=\"#999\"/>\n"
        for (g, name) in groups.enumerated() {
            for (k, se) in series.enumerated() where g < se.values.count {
                let h = max(0, min(1, se.values[g])) * ph
                let x = ml + Double(g) * gw + gw * 0.1 + Double(k) * bw
                s +=
                    """
                    <rect x=\"\(f(x))\" y=\"\(f(mt + ph - h))\" width=\"\(f(bw))\" height=\"\(f(h))\" \
                    fill=\"\(colours[k % colours.count])\"><title>\(esc(se.name)) \(esc(name)): \
                    \(f(se.values[g], 3))</title></rect>\n
                    """
            }
            s +=
                """
                <text x=\"\(f(ml + Double(g) * gw + gw / 2))\" y=\"\(f(mt + ph + 14))\" text-anchor=\"middle\" \
                font-size=\"10\">\(esc(name))</text>\n
                """
        }
        for (k, se) in series.enumerated() {
            s +=
                """
                <rect x=\"\(f(ml + pw + 12))\" y=\"\(f(mt + Double(k) * 16))\" width=\"10\" height=\"10\" \
                fill=\"\(colours[k % colours.count])\"/><text x=\"\(f(ml + pw + 26))\" \
                y=\"\(f(mt + Double(k) * 16 + 9))\">\(esc(se.name))</text>\n
                """
        }
        return s + "</svg>"
    }

    /// Lines over epochs.
    public static func lines(
        title: String, series: [(name: String, values: [Double])], yLabel: String, width: Int = 360, height: Int = 220
    ) -> String {
        let ml = 50.0, mt = 26.0, mb = 34.0, mr = 90.0
        let pw = Double(width) - ml - mr, ph = Double(height) - mt - mb
        let all = series.flatMap(\.values)
        var y0 = all.min() ?? 0, y1 = all.max() ?? 1
        if y1 - y0 < 1e-9 { y0 -= 0.05; y1 += 0.05 }
        let n = max(2, series.map(\.values.count).max() ?? 2)
        func X(_ i: Int) -> Double { ml + Double(i) / Double(n - 1) * pw }
        func Y(_ v: Double) -> Double { mt + ph - (v - y0) / (y1 - y0) * ph }
        var s = header(width, height)
        s += "<text x=\"\(f(ml + pw / 2))\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(title))</text>\n"
        s += "<rect x=\"\(ml)\" y=\"\(mt)\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"#fbfbfb\" stroke=\"#999\"/>\n"
        s +=
            """
            <text x=\"\(f(ml - 4))\" y=\"\(f(mt + 8))\" \
            text-anchor=\"end\">\(String(format: "%.3g", y1))</text><text x=\"\(f(ml - 4))\" y=\"\(f(mt + ph))\" \
            text-anchor=\"end\">\(String(format: "%.3g", y0))</text>\n
            """
        s +=
            """
            <text x=\"\(f(ml + pw / 2))\" y=\"\(height - 6)\" text-anchor=\"middle\">epoch \
            (1..\(n == 2 && all.count <= 2 ? 1 : n))</text>\n
            """
        for (k, se) in series.enumerated() {
            let pts = se.values.enumerated().map { "\(f(X($0.offset))),\(f(Y($0.element)))" }.joined(separator: " ")
            if se.values.count > 1 {
                s +=
                    """
                    <polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(colours[k % colours.count])\" \
                    stroke-width=\"2\"/>
                    """
            }
            for (i, v) in se.values.enumerated() {
                s +=
                    """
                    <circle cx=\"\(f(X(i)))\" cy=\"\(f(Y(v)))\" r=\"3\" \
                    fill=\"\(colours[k % colours.count])\"><title>\(esc(se.name)) epoch \(i + 1): \
                    \(f(v, 4))</title></circle>
                    """
            }
            s +=
                """
                <text x=\"\(f(ml + pw + 8))\" y=\"\(f(mt + 10 + Double(k) * 14))\" \
                fill=\"\(colours[k % colours.count])\">\(esc(se.name))</text>\n
                """
        }
        return s + "</svg>"
    }

    /// Row-normalised confusion matrix as a heatmap with class names.
    public static func heatmap(title: String, matrix: [[Double]], classNames: [String], cell: Int = 30) -> String {
        let n = matrix.count
        let ml = 110.0, mt = 40.0
        let width = Int(ml) + n * cell + 20, height = Int(mt) + n * cell + 110
        var s = header(width, height)
        s += "<text x=\"\(width / 2)\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(title))</text>\n"
        for i in 0..<n {
            for j in 0..<n {
                let v = matrix[i][j]
                let shade = Int(255 - (v * 205).rounded())
                let fill = "rgb(\(shade),\(shade),255)"
                let x = ml + Double(j * cell), y = mt + Double(i * cell)
                s +=
                    """
                    <rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(fill)\" \
                    stroke=\"#fff\"><title>true \(esc(classNames[safe: i])) → predicted \
                    \(esc(classNames[safe: j])): \(f(v * 100, 1))%</title></rect>
                    """
                if v >= 0.01 {
                    s +=
                        """
                        <text x=\"\(f(x + Double(cell) / 2))\" y=\"\(f(y + Double(cell) / 2 + 4))\" \
                        text-anchor=\"middle\" font-size=\"9\" \
                        fill=\"\(v > 0.5 ? "#fff" : "#000")\">\(Int((v * 100).rounded()))</text>
                        """
                }
            }
            s +=
                """
                <text x=\"\(f(ml - 4))\" y=\"\(f(mt + Double(i * cell) + Double(cell) / 2 + 4))\" \
                text-anchor=\"end\" font-size=\"10\">\(esc(classNames[safe: i]))</text>\n
                """
        }
        for j in 0..<n {
            let x = ml + Double(j * cell) + Double(cell) / 2
            s +=
                """
                <text transform=\"translate(\(f(x)),\(f(mt + Double(n * cell) + 6))) rotate(50)\" \
                font-size=\"10\">\(esc(classNames[safe: j]))</text>\n
                """
        }
        s +=
            """
            <text x=\"4\" y=\"\(f(mt - 8))\" font-size=\"10\">rows: true class; columns: predicted (% of the \
            row)</text>\n
            """
        return s + "</svg>"
    }
}

extension Array where Element == String {
    subscript(safe i: Int) -> String { i >= 0 && i < count ? self[i] : "\(i)" }
}
