import CZlib

/// A small PNG encoder (8-bit grey or RGB, filter 0, zlib-compressed IDAT): enough for filter
/// grids, feature maps and sample images, embedded in the HTML and saved for slides.
public enum PNGEncoder {
    /// `pixels`: height rows of width·channels bytes (channels 1 = grey, 3 = RGB).
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        precondition(channels == 1 || channels == 3, "PNG: 1 or 3 channels")
        precondition(pixels.count == width * height * channels, "PNG: pixel count does not match the size")
        var raw = [UInt8]()
        raw.reserveCapacity((width * channels + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(y * width * channels)..<((y + 1) * width * channels)])
        }
        var destLen = compressBound(uLong(raw.count))
        var comp = [UInt8](repeating: 0, count: Int(destLen))
        let rc = compress2(&comp, &destLen, raw, uLong(raw.count), 9)
        precondition(rc == Z_OK, "zlib compress2 failed (\(rc))")
        comp.removeLast(comp.count - Int(destLen))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func be32(_ v: Int) -> [UInt8] {
            [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
        }
        func chunk(_ type: String, _ data: [UInt8]) {
            let t = Array(type.utf8)
            png += be32(data.count) + t + data
            let crc = (t + data).withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            png += be32(Int(crc))
        }
        chunk("IHDR", be32(width) + be32(height) + [8, channels == 1 ? 0 : 2, 0, 0, 0])
        chunk("IDAT", comp)
        chunk("IEND", [])
        return png
    }

    /// Base64 for data URIs.
    public static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0,
                b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(table[b0 >> 2])
            out.append(table[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? table[(b1 & 15) << 2 | b2 >> 6] : "=")
            out.append(i + 2 < bytes.count ? table[b2 & 63] : "=")
            i += 3
        }
        return out
    }
}

/// Grids of small greyscale tiles (filters, feature maps) as one image.
public enum ImageGrid {
    /// Each tile is `h`×`w` floats; each is scaled to 0..255 by its own min and max, enlarged by
    /// `scale`, and placed in a grid of `columns` with a 1-pixel border.
    public static func grey(tiles: [[Float]], h: Int, w: Int, columns: Int, scale: Int) -> (
        width: Int, height: Int, pixels: [UInt8]
    ) {
        let cols = max(1, min(columns, tiles.count))
        let rows = (tiles.count + cols - 1) / cols
        let tw = w * scale + 1, th = h * scale + 1
        let W = cols * tw + 1, H = rows * th + 1
        var px = [UInt8](repeating: 255, count: W * H)
        for (i, t) in tiles.enumerated() {
            let lo = t.min() ?? 0, hi = t.max() ?? 1
            let span = hi - lo > 1e-12 ? hi - lo : 1
            let x0 = (i % cols) * tw + 1, y0 = (i / cols) * th + 1
            for y in 0..<(h * scale) {
                for x in 0..<(w * scale) {
                    let v = (t[(y / scale) * w + x / scale] - lo) / span
                    px[(y0 + y) * W + x0 + x] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        return (W, H, px)
    }
}

/// One image enlarged by pixel repetition, as PNG bytes (pure).
public enum EnlargedImage {
    // pixels HWC Float in 0...1 (1 or 3 channels used) -> PNG (h·scale, w·scale), grey or RGB
    public static func png(_ pixels: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int, scale: Int)
        -> [UInt8]
    {
        let outC = c == 3 ? 3 : 1
        var px = [UInt8](repeating: 0, count: h * scale * w * scale * outC)
        for y in 0..<(h * scale) {
            for x in 0..<(w * scale) {
                for ch in 0..<outC {
                    let v = pixels[((y / scale) * w + x / scale) * c + ch]
                    px[(y * w * scale + x) * outC + ch] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        return PNGEncoder.encode(width: w * scale, height: h * scale, channels: outC, pixels: px)
    }
}
