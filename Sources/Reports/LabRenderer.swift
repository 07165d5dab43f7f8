import Figures
import Foundation
import Roofline

/// The lab report: every section the lab asks for, from a LabReport value (pure, no I/O).
/// `pictures` maps a relative PNG path to its bytes, embedded in the HTML as data URIs.
public enum LabRenderer {
    static func f(_ v: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", v) }
    static let esc = HTMLRenderer.escape

    static func comparisonRows(_ r: LabReport) -> [[String]] {
        r.models.map { m in
            [
                m.name, f(m.testAccuracy * 100) + "%", f(m.trainingSeconds, 1), f(m.inferenceMsPerImage, 4),
                "\(m.totalParameters)",
                "\(m.trainableParameters)", f(m.parametersPerSecond, 0), f(m.accuracyPerMillionParameters, 3),
                "\(m.epochsTrained)",
            ]
        }
    }
    static let comparisonHeader = [
        "model", "test accuracy", "training s", "inference ms/image", "parameters", "trainable",
        "parameters/s", "accuracy per M parameters", "epochs",
    ]

    public static func markdown(_ r: LabReport) -> String {
        var md = [
            "# cnnscope lab: \(r.dataset)", "", "`\(r.commandLine)` — \(r.createdAt)", "",
            """
            \(r.models.count) models, \(r.epochs) epoch(s), \(r.trainImages) training and \(r.testImages) test \
            images, \(r.threads) threads on \(r.machine ?? "an unrecorded machine"). Accuracies are computed on \
            the test set; times are measured.
            """,
            "",
            "## Comparison", "", "| " + comparisonHeader.joined(separator: " | ") + " |",
            "|" + String(repeating: "---|", count: comparisonHeader.count),
        ]
        md += comparisonRows(r).map { "| " + $0.joined(separator: " | ") + " |" }
        md += ["", "## Winners", ""]
        if let m = r.mostAccurate { md.append("- Most accurate: **\(m.name)** (\(f(m.testAccuracy * 100))%)") }
        if let m = r.fastestInference {
            md.append("- Fastest inference: **\(m.name)** (\(f(m.inferenceMsPerImage, 4)) ms/image)")
        }
        if let m = r.mostParameterEfficient {
            md.append(
                """
                - Most parameter-efficient: **\(m.name)** (\(f(m.accuracyPerMillionParameters, 3)) accuracy per \
                million parameters)
                """
            )
        }
        md += ["", "## Confusion", ""]
        for m in r.models {
            if let c = m.mostConfused {
                md.append(
                    """
                    - \(m.name): most confused pair — true **\(r.classNames[safe: c.truth])** predicted as \
                    **\(r.classNames[safe: c.predicted])** (\(f(c.fraction * 100, 1))% of that class)
                    """
                )
            }
        }
        if let fc = r.models.first(where: \.fullyConnected),
            let cnn = r.cnns.max(by: { $0.testAccuracy < $1.testAccuracy })
        {
            md += [
                "", "## CNN vs FCNN", "", "| metric | \(cnn.name) | \(fc.name) |", "|---|---:|---:|",
                "| test accuracy | \(f(cnn.testAccuracy * 100))% | \(f(fc.testAccuracy * 100))% |",
                "| parameters | \(cnn.totalParameters) | \(fc.totalParameters) |",
                "| training s | \(f(cnn.trainingSeconds, 1)) | \(f(fc.trainingSeconds, 1)) |",
                "| inference ms/image | \(f(cnn.inferenceMsPerImage, 4)) | \(f(fc.inferenceMsPerImage, 4)) |",
                """
                | accuracy per M parameters | \(f(cnn.accuracyPerMillionParameters, 3)) | \
                \(f(fc.accuracyPerMillionParameters, 3)) |
                """,
            ]
        }
        if let (mx, av) = r.poolingPair {
            md += [
                "", "## Max vs average pooling (basic-cnn)", "",
                "| pooling | test accuracy | training s | inference ms/image |", "|---|---:|---:|---:|",
                """
                | max | \(f(mx.testAccuracy * 100))% | \(f(mx.trainingSeconds, 1)) | \
                \(f(mx.inferenceMsPerImage, 4)) |
                """,
                """
                | average | \(f(av.testAccuracy * 100))% | \(f(av.trainingSeconds, 1)) | \
                \(f(av.inferenceMsPerImage, 4)) |
                """,
            ]
        }
        if let a = r.augmentation { md += ["", "Data augmentation (extension): \(a)."] }
        if let q = r.quantization, !q.isEmpty {
            md += [
                "", "## Int8 post-training quantisation", "", "| " + quantHeader.joined(separator: " | ") + " |",
                "|" + String(repeating: "---|", count: quantHeader.count),
            ]
            md += q.map { "| " + quantRow($0).joined(separator: " | ") + " |" }
        }
        if let g = r.gradCAM, !g.isEmpty {
            md +=
                ["", "## Grad-CAM", ""]
                + g.map {
                    """
                    - \($0.model) (\($0.layer)): true \($0.truth), predicted \($0.predicted): \
                    ![Grad-CAM](\($0.picture))
                    """
                }
        }
        md += ["", "## Hardware (inference, batch 64, auto)", ""]
        for m in r.models {
            md.append(
                """
                ### \(m.name): \(f(m.modelGFLOPs.value ?? 0, 1)) GFLOP/s, \
                \(f((m.modelEfficiency.value ?? 0) * 100, 1))% of the compute roof
                """
                    + (m.profileReport.map { " — [full profile](\($0))" } ?? ""))
            md += ["", "| layer | conv algorithm | ms (measured) | GFLOP/s | efficiency |", "|---|---|---:|---:|---:|"]
            for l in m.layers {
                md.append(
                    """
                    | \(l.name) (\(l.type)) | \(l.convAlgorithm ?? "") | \(f(l.ms.value ?? 0, 3)) | \
                    \(l.gflops.value.map { f($0, 1) } ?? "—") | \
                    \(l.efficiency.value.map { f($0 * 100, 1) + "%" } ?? "—") |
                    """
                )
            }
            md.append("")
        }
        md += ["## Pictures", ""]
        for m in r.models {
            for (k, p) in m.pictures.sorted(by: { $0.key < $1.key }) {
                md.append("- \(m.name) \(k): ![\(m.name) \(k)](\(p))")
            }
        }
        md += ["", "## Notes", ""] + r.notes.map { "- \($0)" }
        return md.joined(separator: "\n") + "\n"
    }

    static func kib(_ b: Int) -> String {
        b >= 1 << 20 ? f(Double(b) / 1048576, 1) + " MiB" : f(Double(b) / 1024, 1) + " KiB"
    }
    static let quantHeader = [
        "model", "float accuracy", "int8 accuracy", "Δ points", "float ms/image", "int8 ms/image", "int8 speed-up",
        "weights float", "weights int8", "predictions changed", "int8 layers",
    ]
    static func quantRow(_ q: LabQuantization) -> [String] {
        [
            q.model, f(q.floatAccuracy * 100) + "%", f(q.int8Accuracy * 100) + "%",
            f((q.int8Accuracy - q.floatAccuracy) * 100),
            f(q.floatMsPerImage, 4), f(q.int8MsPerImage, 4), f(q.floatMsPerImage / q.int8MsPerImage) + "x",
            kib(q.floatWeightBytes), kib(q.int8WeightBytes), "\(q.disagreements)", int8Layers(q),
        ]
    }
    /// "3 of 4 (float: conv2d; 8-bit Winograd: conv2d_1)": how many quantisable layers run as int8,
    /// which stayed float, and which run the rounded 8-bit Winograd domain.
    static func int8Layers(_ q: LabQuantization) -> String {
        let kept = q.floatLayers ?? [], rounded = q.roundedLayers ?? []
        let all = "\(q.quantizedLayers.count) of \(q.quantizedLayers.count + kept.count)"
        let notes =
            (kept.isEmpty ? [] : ["float: " + kept.joined(separator: ", ")])
            + (rounded.isEmpty ? [] : ["8-bit Winograd: " + rounded.joined(separator: ", ")])
        return notes.isEmpty ? all : all + " (" + notes.joined(separator: "; ") + ")"
    }

    public static func csv(_ r: LabReport) -> String {
        ([
            ([
                "model", "test_accuracy", "test_loss", "training_seconds", "inference_ms_per_image", "parameters",
                "trainable_parameters", "parameters_per_second", "accuracy_per_million_parameters", "epochs_trained",
                "model_gflops", "model_efficiency",
            ].joined(separator: ","))
        ]
            + r.models.map { m in
                CSVRow.line([
                    m.name, "\(m.testAccuracy)", "\(m.testLoss)", "\(m.trainingSeconds)", "\(m.inferenceMsPerImage)",
                    "\(m.totalParameters)", "\(m.trainableParameters)", "\(m.parametersPerSecond)",
                    "\(m.accuracyPerMillionParameters)", "\(m.epochsTrained)",
                    m.modelGFLOPs.value.map { "\($0)" } ?? "", m.modelEfficiency.value.map { "\($0)" } ?? "",
                ])
            }).joined(separator: "\n") + "\n"
    }

    static func img(_ path: String?, _ pictures: [String: [UInt8]], alt: String) -> String {
        guard let path, let bytes = pictures[path] else { return "" }
        return "<img alt=\"\(esc(alt))\" src=\"data:image/png;base64,\(PNGEncoder.base64(bytes))\"/>"
    }

    public static func html(
        _ r: LabReport, pictures: [String: [UInt8]], samples: [(path: String, truth: String, predicted: String)]
    ) -> String {
        var h =
            """
            <!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta \
            charset=\"utf-8\"/>\n<title>cnnscope lab: \(esc(r.dataset))</title>\n
            """
        h +=
            """
            <style>body { font-family: sans-serif; margin: 24px auto; max-width: 1150px; color: #222; } table { \
            border-collapse: collapse; font-size: 12px; margin: 8px 0; } th, td { border: 1px solid #ccc; \
            padding: 3px 6px; text-align: right; } td.l, th.l { text-align: left; } .ok { color: #1a7f37; \
            font-weight: bold; } .bad { color: #cf222e; font-weight: bold; } .fig { display: inline-block; \
            vertical-align: top; margin: 4px; } img { image-rendering: pixelated; }</style>\n</head>\n<body>\n
            """
        h +=
            """
            <h1>cnnscope lab: \(esc(r.dataset))</h1>\n<p>Command: <code>\(esc(r.commandLine))</code> — \
            \(esc(r.createdAt)). \(r.models.count) models, \(r.epochs) epoch(s), \(r.trainImages) training and \
            \(r.testImages) test images, \(r.threads) threads on \(esc(r.machine ?? "an unrecorded machine")). \
            Accuracies: computed on the test set; times: measured.</p>\n
            """
        h += "<h2>Comparison</h2>\n<table><tr>" + comparisonHeader.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
        for row in comparisonRows(r) {
            h +=
                "<tr>"
                + row.enumerated().map {
                    $0.offset == 0 ? "<td class=\"l\">\(esc($0.element))</td>" : "<td>\(esc($0.element))</td>"
                }.joined() + "</tr>\n"
        }
        h += "</table>\n<h2>The lab's four plots</h2>\n"
        let ms = r.models
        h +=
            "<div class=\"fig\">"
            + Charts.scatter(
                title: "Accuracy vs parameters",
                points: ms.map { ($0.name, Double($0.totalParameters), $0.testAccuracy * 100) },
                xLabel: "parameters (log)", yLabel: "test accuracy %", logX: true) + "</div>\n"
        h +=
            "<div class=\"fig\">"
            + Charts.scatter(
                title: "Inference time vs parameters",
                points: ms.map { ($0.name, Double($0.totalParameters), $0.inferenceMsPerImage) },
                xLabel: "parameters (log)", yLabel: "ms per image", logX: true) + "</div>\n"
        h +=
            "<div class=\"fig\">"
            + Charts.scatter(
                title: "Accuracy vs training time",
                points: ms.map { ($0.name, $0.trainingSeconds, $0.testAccuracy * 100) }, xLabel: "training seconds",
                yLabel: "test accuracy %") + "</div>\n"
        h +=
            "<div class=\"fig\">"
            + Charts.bars(
                title: "Accuracy per million parameters", items: ms.map { ($0.name, $0.accuracyPerMillionParameters) },
                yLabel: "accuracy / M parameters") + "</div>\n"
        h += "<h2>Winners</h2>\n<ul>\n"
        if let m = r.mostAccurate {
            h += "<li>Most accurate: <b>\(esc(m.name))</b> (\(f(m.testAccuracy * 100))%)</li>\n"
        }
        if let m = r.fastestInference {
            h += "<li>Fastest inference: <b>\(esc(m.name))</b> (\(f(m.inferenceMsPerImage, 4)) ms/image)</li>\n"
        }
        if let m = r.mostParameterEfficient {
            h += "<li>Most parameter-efficient: <b>\(esc(m.name))</b> (\(f(m.accuracyPerMillionParameters, 3)))</li>\n"
        }
        h += "</ul>\n<h2>Training curves</h2>\n"
        for m in ms {
            h +=
                "<div class=\"fig\">"
                + Charts.lines(
                    title: "\(m.name): accuracy",
                    series: [
                        ("train", m.history.map(\.accuracy)), ("validation", m.history.compactMap(\.valAccuracy)),
                    ], yLabel: "accuracy") + "</div>"
            h +=
                "<div class=\"fig\">"
                + Charts.lines(
                    title: "\(m.name): loss",
                    series: [("train", m.history.map(\.loss)), ("validation", m.history.compactMap(\.valLoss))],
                    yLabel: "loss") + "</div>\n"
        }
        h += "<h2>Confusion matrices</h2>\n"
        for m in ms {
            h +=
                "<div class=\"fig\">"
                + Charts.heatmap(title: m.name, matrix: m.normalisedConfusion, classNames: r.classNames)
            if let c = m.mostConfused {
                h +=
                    """
                    <p>Most confused: true <b>\(esc(r.classNames[safe: c.truth]))</b> predicted as \
                    <b>\(esc(r.classNames[safe: c.predicted]))</b> (\(f(c.fraction * 100, 1))%)</p>
                    """
            }
            h += "</div>\n"
        }
        if !samples.isEmpty {
            h += "<h2>Sample predictions</h2>\n<div>"
            for s in samples {
                let ok = s.truth == s.predicted
                h +=
                    """
                    <div class=\"fig\">\(img(s.path, pictures, alt: s.truth))<br/><span \
                    class=\"\(ok ? "ok" : "bad")\">\(esc(s.predicted))</span><br/><small>true: \
                    \(esc(s.truth))</small></div>
                    """
            }
            h += "</div>\n"
        }
        h += "<h2>Filters and feature maps</h2>\n"
        for m in ms where !m.pictures.isEmpty {
            for (k, p) in m.pictures.sorted(by: { $0.key < $1.key }) where k != "samples" {
                h +=
                    """
                    <div class=\"fig\"><p><b>\(esc(m.name))</b>: \
                    \(esc(k))</p>\(img(p, pictures, alt: "\(m.name) \(k)"))</div>\n
                    """
            }
        }
        if let fc = r.models.first(where: \.fullyConnected),
            let cnn = r.cnns.max(by: { $0.testAccuracy < $1.testAccuracy })
        {
            h +=
                """
                <h2>CNN vs FCNN</h2>\n<table><tr><th \
                class=\"l\">metric</th><th>\(esc(cnn.name))</th><th>\(esc(fc.name))</th></tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">test \
                accuracy</td><td>\(f(cnn.testAccuracy * 100))%</td><td>\(f(fc.testAccuracy * 100))%</td></tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">parameters</td><td>\(cnn.totalParameters)</td><td>\(fc.totalParameters)</td>\
                </tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">training \
                s</td><td>\(f(cnn.trainingSeconds, 1))</td><td>\(f(fc.trainingSeconds, 1))</td></tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">inference \
                ms/image</td><td>\(f(cnn.inferenceMsPerImage, 4))</td><td>\(f(fc.inferenceMsPerImage, 4))</td></tr>\
                </table>\n
                """
            // Normalised so that higher is better on every metric: best = 1.
            func norm(_ a: Double, _ b: Double, higherBetter: Bool) -> (Double, Double) {
                higherBetter ? (a / max(a, b), b / max(a, b)) : (min(a, b) / a, min(a, b) / b)
            }
            let acc = norm(cnn.testAccuracy, fc.testAccuracy, higherBetter: true)
            let par = norm(Double(cnn.totalParameters), Double(fc.totalParameters), higherBetter: false)
            let tr = norm(cnn.trainingSeconds, fc.trainingSeconds, higherBetter: false)
            let inf = norm(cnn.inferenceMsPerImage, fc.inferenceMsPerImage, higherBetter: false)
            let eff = norm(cnn.accuracyPerMillionParameters, fc.accuracyPerMillionParameters, higherBetter: true)
            h +=
                Charts.groupedBars(
                    title: "CNN vs FCNN (normalised, higher is better)",
                    groups: ["accuracy", "fewer parameters", "faster training", "faster inference", "acc / M params"],
                    series: [
                        (cnn.name, [acc.0, par.0, tr.0, inf.0, eff.0]), (fc.name, [acc.1, par.1, tr.1, inf.1, eff.1]),
                    ]) + "\n"
        }
        if let (mx, av) = r.poolingPair {
            h +=
                """
                <h2>Max vs average pooling</h2>\n<table><tr><th class=\"l\">pooling (basic-cnn)</th><th>test \
                accuracy</th><th>training s</th><th>inference ms/image</th></tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">max</td><td>\(f(mx.testAccuracy * 100))%</td><td>\
                \(f(mx.trainingSeconds, 1))</td><td>\(f(mx.inferenceMsPerImage, 4))</td></tr>\n
                """
            h +=
                """
                <tr><td class=\"l\">average</td><td>\(f(av.testAccuracy * 100))%</td><td>\
                \(f(av.trainingSeconds, 1))</td><td>\(f(av.inferenceMsPerImage, 4))</td></tr></table>\n
                """
        }
        if let a = r.augmentation { h += "<p>Data augmentation (extension): \(esc(a)).</p>\n" }
        if let q = r.quantization, !q.isEmpty {
            h +=
                """
                <h2>Int8 post-training quantisation</h2>\n<p>Convolution and dense weights quantised per output \
                channel, activations per tensor to 7 bits from the ranges of 8 calibration batches; a layer whose \
                int8 form ran slower than its float form on a calibration batch stays float; on AVX-512 VNNI a 3x3 \
                layer may run Winograd with an 8-bit transform domain (both transforms rounded), kept only where \
                fastest and its output error on the calibration batch is at most three times (by default) the exact \
                int8 forms' (8-bit Winograd in the last column); accuracy on the same test images and inference time \
                at batch 64 (measured in this run).</p>\n
                """
            h += "<table><tr>" + quantHeader.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
            for row in q.map(quantRow) {
                h +=
                    "<tr>"
                    + row.enumerated().map {
                        $0.offset == 0 ? "<td class=\"l\">\(esc($0.element))</td>" : "<td>\(esc($0.element))</td>"
                    }.joined() + "</tr>\n"
            }
            h += "</table>\n"
        }
        if let g = r.gradCAM, !g.isEmpty {
            h +=
                """
                <h2>Grad-CAM</h2>\n<p>Where the last convolution's evidence for the predicted class lies (red: \
                most), over the test image.</p>\n<div>
                """
            for c in g {
                let ok = c.truth == c.predicted
                h +=
                    """
                    <div class=\"fig\">\(img(c.picture, pictures, alt: "Grad-CAM \(c.model)"))<br/><small>\
                    \(esc(c.model)) \
                    · \(esc(c.layer))</small><br/><span \
                    class=\"\(ok ? "ok" : "bad")\">\(esc(c.predicted))</span><br/><small>true: \
                    \(esc(c.truth))</small></div>
                    """
            }
            h += "</div>\n"
        }
        h += "<h2>Hardware view (inference, batch 64, conv algorithm auto)</h2>\n"
        h +=
            """
            <p>Roof: \(f(r.roofline.computeGFLOPs, 1)) GFLOP/s compute, \
            \(r.roofline.memory.map { "\(esc($0.level)) \(f($0.gbPerSecond, 1)) GB/s" } ?? "—") (measured \
            ceilings).</p>\n
            """
        for m in ms {
            h +=
                """
                <h3>\(esc(m.name)): \(f(m.modelGFLOPs.value ?? 0, 1)) GFLOP/s, \
                \(f((m.modelEfficiency.value ?? 0) * 100, 1))% of the compute roof
                """
                + (m.profileReport.map { " — <a href=\"\(esc($0))\">full profile report</a>" } ?? "") + "</h3>\n"
            h +=
                """
                <table><tr><th class=\"l\">layer</th><th class=\"l\">conv algorithm</th><th>ms \
                (measured)</th><th>GFLOP/s</th><th>efficiency</th></tr>\n
                """
            for l in m.layers {
                h +=
                    """
                    <tr><td class=\"l\">\(esc(l.name)) (\(esc(l.type)))</td><td \
                    class=\"l\">\(esc(l.convAlgorithm ?? ""))</td><td>\(f(l.ms.value ?? 0, 3))</td><td>\
                    \(l.gflops.value.map { f($0, 1) } ?? "—")</td><td>\
                    \(l.efficiency.value.map { f($0 * 100, 1) + "%" } ?? "—")</td></tr>\n
                    """
            }
            h += "</table>\n"
        }
        h += "<h2>Notes</h2>\n<ul>\n" + r.notes.map { "<li>\(esc($0))</li>\n" }.joined() + "</ul>\n</body>\n</html>\n"
        return h
    }
}
