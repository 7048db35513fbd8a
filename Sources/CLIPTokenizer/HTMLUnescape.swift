/// `html.unescape` as the Python standard library does it, applied by `CLIPTokenizer.cleanText` twice.
///
/// A reference is `&` followed by `#` and decimal digits, `#x` and hex digits, or 1 to 32 characters other
/// than tab, newline, form feed, space, `<`, `&`, `#` and `;`; each may end with `;`. Numeric references
/// follow HTML5 (0 and surrogates and numbers past U+10FFFF give U+FFFD, 0x80-0x9F are read as
/// Windows-1252, other control characters and non-characters give nothing). Named references: the 252
/// entities of HTML 4 (`&amp;`, `&lt;`, `&nbsp;`, `&eacute;`, `&hellip;`, `&mdash;`, …) plus `&apos;` and the
/// upper-case `&AMP;` `&LT;` `&GT;` `&QUOT;` `&COPY;` `&REG;`, with HTML5's values; the 106 legacy names
/// (`amp`, `lt`, `nbsp`, `eacute`, …) also work without `;` and as prefixes (`&ampx` is `&x`), as in Python.
/// The other ~2000 HTML5 names (`&NewLine;`, `&bigstar;`, …) are left as written.
enum HTMLUnescape {
    /// One pass over `text`, as `html.unescape(text)`.
    static func unescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == "&", let (replacement, end) = reference(in: text, at: i + 1) {
                out += replacement
                i = end
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// The replacement of the reference whose body starts at `start` (just after `&`) and the index after it,
    /// or nil where Python's pattern does not match (then `&` stays as it is).
    private static func reference(in s: [Unicode.Scalar], at start: Int) -> ([Unicode.Scalar], Int)? {
        guard start < s.count else { return nil }
        if s[start] == "#" {
            var i = start + 1
            var radix: UInt32 = 10
            if i < s.count, s[i] == "x" || s[i] == "X" { radix = 16; i += 1 }
            let digitsStart = i
            var value: UInt32 = 0
            while i < s.count, let digit = digitValue(s[i], radix: radix) {
                value = min(value * radix + digit, 0x11_0000)  // saturate: every larger number means the same
                i += 1
            }
            guard i > digitsStart else { return nil }  // `&#` or `&#x` without digits: not a reference
            if i < s.count, s[i] == ";" { i += 1 }
            return (numeric(value), i)
        }
        var end = start
        while end < s.count, end - start < 32, !nameStops.contains(s[end]) { end += 1 }
        guard end > start else { return nil }
        let name = String(String.UnicodeScalarView(s[start..<end]))
        let hasSemicolon = end < s.count && s[end] == ";"
        if hasSemicolon, let value = entities[name] { return ([value], end + 1) }
        if !hasSemicolon, legacyNames.contains(name), let value = entities[name] { return ([value], end) }
        // Python: the longest prefix (at least 2 characters, shorter than the whole match) that is a legacy name.
        let whole = end + (hasSemicolon ? 1 : 0)
        let scalars = Array(s[start..<whole])
        var length = scalars.count - 1
        while length >= 2 {
            let prefix = String(String.UnicodeScalarView(scalars[..<length]))
            if legacyNames.contains(prefix), let value = entities[prefix] {
                return ([value] + scalars[length...], whole)
            }
            length -= 1
        }
        return (["&"] + scalars, whole)
    }

    private static let nameStops: Set<Unicode.Scalar> = ["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"]

    private static func digitValue(_ c: Unicode.Scalar, radix: UInt32) -> UInt32? {
        switch c.value {
        case 0x30...0x39: c.value - 0x30
        case 0x41...0x46 where radix == 16: c.value - 0x41 + 10
        case 0x61...0x66 where radix == 16: c.value - 0x61 + 10
        default: nil
        }
    }

    /// Python's `_replace_charref` for a number.
    private static func numeric(_ value: UInt32) -> [Unicode.Scalar] {
        if let replacement = invalidCharacterReferences[value] { return [replacement] }
        guard let scalar = Unicode.Scalar(value) else { return ["\u{FFFD}"] }  // surrogates, past U+10FFFF
        switch value {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F...0x9F, 0xFDD0...0xFDEF: return []
        case _ where value & 0xFFFE == 0xFFFE: return []  // U+xFFFE and U+xFFFF of every plane
        default: return [scalar]
        }
    }

    /// HTML5's replacements for references to 0, CR and the C1 controls (read as Windows-1252).
    private static let invalidCharacterReferences: [UInt32: Unicode.Scalar] = [
        0x00: "\u{FFFD}", 0x0D: "\r", 0x80: "\u{20AC}", 0x81: "\u{81}", 0x82: "\u{201A}", 0x83: "\u{0192}",
        0x84: "\u{201E}", 0x85: "\u{2026}", 0x86: "\u{2020}", 0x87: "\u{2021}", 0x88: "\u{02C6}", 0x89: "\u{2030}",
        0x8A: "\u{0160}", 0x8B: "\u{2039}", 0x8C: "\u{0152}", 0x8D: "\u{8D}", 0x8E: "\u{017D}", 0x8F: "\u{8F}",
        0x90: "\u{90}", 0x91: "\u{2018}", 0x92: "\u{2019}", 0x93: "\u{201C}", 0x94: "\u{201D}", 0x95: "\u{2022}",
        0x96: "\u{2013}", 0x97: "\u{2014}", 0x98: "\u{02DC}", 0x99: "\u{2122}", 0x9A: "\u{0161}", 0x9B: "\u{203A}",
        0x9C: "\u{0153}", 0x9D: "\u{9D}", 0x9E: "\u{017E}", 0x9F: "\u{0178}",
    ]

    /// Names that are references without `;` too (HTML5's legacy list).
    private static let legacyNames: Set<String> = [
    "Aacute", "aacute", "Acirc", "acirc", "acute", "AElig", "aelig", "Agrave", "agrave", "AMP", "amp", "Aring",
    "aring", "Atilde", "atilde", "Auml", "auml", "brvbar", "Ccedil", "ccedil", "cedil", "cent", "COPY", "copy",
    "curren", "deg", "divide", "Eacute", "eacute", "Ecirc", "ecirc", "Egrave", "egrave", "ETH", "eth", "Euml",
    "euml", "frac12", "frac14", "frac34", "GT", "gt", "Iacute", "iacute", "Icirc", "icirc", "iexcl", "Igrave",
    "igrave", "iquest", "Iuml", "iuml", "laquo", "LT", "lt", "macr", "micro", "middot", "nbsp", "not", "Ntilde",
    "ntilde", "Oacute", "oacute", "Ocirc", "ocirc", "Ograve", "ograve", "ordf", "ordm", "Oslash", "oslash",
    "Otilde", "otilde", "Ouml", "ouml", "para", "plusmn", "pound", "QUOT", "quot", "raquo", "REG", "reg",
    "sect", "shy", "sup1", "sup2", "sup3", "szlig", "THORN", "thorn", "times", "Uacute", "uacute", "Ucirc",
    "ucirc", "Ugrave", "ugrave", "uml", "Uuml", "uuml", "Yacute", "yacute", "yen", "yuml",
    ]

    /// Named entities (without `;`) and their characters: HTML 4's, `apos` and the upper-case legacy names.
    private static let entities: [String: Unicode.Scalar] = [
    "Aacute": "\u{00C1}", "aacute": "\u{00E1}", "Acirc": "\u{00C2}", "acirc": "\u{00E2}", "acute": "\u{00B4}", "AElig": "\u{00C6}",
    "aelig": "\u{00E6}", "Agrave": "\u{00C0}", "agrave": "\u{00E0}", "alefsym": "\u{2135}", "Alpha": "\u{0391}", "alpha": "\u{03B1}",
    "AMP": "\u{0026}", "amp": "\u{0026}", "and": "\u{2227}", "ang": "\u{2220}", "apos": "\u{0027}", "Aring": "\u{00C5}",
    "aring": "\u{00E5}", "asymp": "\u{2248}", "Atilde": "\u{00C3}", "atilde": "\u{00E3}", "Auml": "\u{00C4}", "auml": "\u{00E4}",
    "bdquo": "\u{201E}", "Beta": "\u{0392}", "beta": "\u{03B2}", "brvbar": "\u{00A6}", "bull": "\u{2022}", "cap": "\u{2229}",
    "Ccedil": "\u{00C7}", "ccedil": "\u{00E7}", "cedil": "\u{00B8}", "cent": "\u{00A2}", "Chi": "\u{03A7}", "chi": "\u{03C7}",
    "circ": "\u{02C6}", "clubs": "\u{2663}", "cong": "\u{2245}", "COPY": "\u{00A9}", "copy": "\u{00A9}", "crarr": "\u{21B5}",
    "cup": "\u{222A}", "curren": "\u{00A4}", "Dagger": "\u{2021}", "dagger": "\u{2020}", "dArr": "\u{21D3}", "darr": "\u{2193}",
    "deg": "\u{00B0}", "Delta": "\u{0394}", "delta": "\u{03B4}", "diams": "\u{2666}", "divide": "\u{00F7}", "Eacute": "\u{00C9}",
    "eacute": "\u{00E9}", "Ecirc": "\u{00CA}", "ecirc": "\u{00EA}", "Egrave": "\u{00C8}", "egrave": "\u{00E8}", "empty": "\u{2205}",
    "emsp": "\u{2003}", "ensp": "\u{2002}", "Epsilon": "\u{0395}", "epsilon": "\u{03B5}", "equiv": "\u{2261}", "Eta": "\u{0397}",
    "eta": "\u{03B7}", "ETH": "\u{00D0}", "eth": "\u{00F0}", "Euml": "\u{00CB}", "euml": "\u{00EB}", "euro": "\u{20AC}",
    "exist": "\u{2203}", "fnof": "\u{0192}", "forall": "\u{2200}", "frac12": "\u{00BD}", "frac14": "\u{00BC}", "frac34": "\u{00BE}",
    "frasl": "\u{2044}", "Gamma": "\u{0393}", "gamma": "\u{03B3}", "ge": "\u{2265}", "GT": "\u{003E}", "gt": "\u{003E}", "hArr": "\u{21D4}",
    "harr": "\u{2194}", "hearts": "\u{2665}", "hellip": "\u{2026}", "Iacute": "\u{00CD}", "iacute": "\u{00ED}", "Icirc": "\u{00CE}",
    "icirc": "\u{00EE}", "iexcl": "\u{00A1}", "Igrave": "\u{00CC}", "igrave": "\u{00EC}", "image": "\u{2111}", "infin": "\u{221E}",
    "int": "\u{222B}", "Iota": "\u{0399}", "iota": "\u{03B9}", "iquest": "\u{00BF}", "isin": "\u{2208}", "Iuml": "\u{00CF}",
    "iuml": "\u{00EF}", "Kappa": "\u{039A}", "kappa": "\u{03BA}", "Lambda": "\u{039B}", "lambda": "\u{03BB}", "lang": "\u{27E8}",
    "laquo": "\u{00AB}", "lArr": "\u{21D0}", "larr": "\u{2190}", "lceil": "\u{2308}", "ldquo": "\u{201C}", "le": "\u{2264}",
    "lfloor": "\u{230A}", "lowast": "\u{2217}", "loz": "\u{25CA}", "lrm": "\u{200E}", "lsaquo": "\u{2039}", "lsquo": "\u{2018}",
    "LT": "\u{003C}", "lt": "\u{003C}", "macr": "\u{00AF}", "mdash": "\u{2014}", "micro": "\u{00B5}", "middot": "\u{00B7}",
    "minus": "\u{2212}", "Mu": "\u{039C}", "mu": "\u{03BC}", "nabla": "\u{2207}", "nbsp": "\u{00A0}", "ndash": "\u{2013}", "ne": "\u{2260}",
    "ni": "\u{220B}", "not": "\u{00AC}", "notin": "\u{2209}", "nsub": "\u{2284}", "Ntilde": "\u{00D1}", "ntilde": "\u{00F1}",
    "Nu": "\u{039D}", "nu": "\u{03BD}", "Oacute": "\u{00D3}", "oacute": "\u{00F3}", "Ocirc": "\u{00D4}", "ocirc": "\u{00F4}",
    "OElig": "\u{0152}", "oelig": "\u{0153}", "Ograve": "\u{00D2}", "ograve": "\u{00F2}", "oline": "\u{203E}", "Omega": "\u{03A9}",
    "omega": "\u{03C9}", "Omicron": "\u{039F}", "omicron": "\u{03BF}", "oplus": "\u{2295}", "or": "\u{2228}", "ordf": "\u{00AA}",
    "ordm": "\u{00BA}", "Oslash": "\u{00D8}", "oslash": "\u{00F8}", "Otilde": "\u{00D5}", "otilde": "\u{00F5}", "otimes": "\u{2297}",
    "Ouml": "\u{00D6}", "ouml": "\u{00F6}", "para": "\u{00B6}", "part": "\u{2202}", "permil": "\u{2030}", "perp": "\u{22A5}",
    "Phi": "\u{03A6}", "phi": "\u{03C6}", "Pi": "\u{03A0}", "pi": "\u{03C0}", "piv": "\u{03D6}", "plusmn": "\u{00B1}", "pound": "\u{00A3}",
    "Prime": "\u{2033}", "prime": "\u{2032}", "prod": "\u{220F}", "prop": "\u{221D}", "Psi": "\u{03A8}", "psi": "\u{03C8}",
    "QUOT": "\u{0022}", "quot": "\u{0022}", "radic": "\u{221A}", "rang": "\u{27E9}", "raquo": "\u{00BB}", "rArr": "\u{21D2}",
    "rarr": "\u{2192}", "rceil": "\u{2309}", "rdquo": "\u{201D}", "real": "\u{211C}", "REG": "\u{00AE}", "reg": "\u{00AE}",
    "rfloor": "\u{230B}", "Rho": "\u{03A1}", "rho": "\u{03C1}", "rlm": "\u{200F}", "rsaquo": "\u{203A}", "rsquo": "\u{2019}",
    "sbquo": "\u{201A}", "Scaron": "\u{0160}", "scaron": "\u{0161}", "sdot": "\u{22C5}", "sect": "\u{00A7}", "shy": "\u{00AD}",
    "Sigma": "\u{03A3}", "sigma": "\u{03C3}", "sigmaf": "\u{03C2}", "sim": "\u{223C}", "spades": "\u{2660}", "sub": "\u{2282}",
    "sube": "\u{2286}", "sum": "\u{2211}", "sup": "\u{2283}", "sup1": "\u{00B9}", "sup2": "\u{00B2}", "sup3": "\u{00B3}",
    "supe": "\u{2287}", "szlig": "\u{00DF}", "Tau": "\u{03A4}", "tau": "\u{03C4}", "there4": "\u{2234}", "Theta": "\u{0398}",
    "theta": "\u{03B8}", "thetasym": "\u{03D1}", "thinsp": "\u{2009}", "THORN": "\u{00DE}", "thorn": "\u{00FE}", "tilde": "\u{02DC}",
    "times": "\u{00D7}", "trade": "\u{2122}", "Uacute": "\u{00DA}", "uacute": "\u{00FA}", "uArr": "\u{21D1}", "uarr": "\u{2191}",
    "Ucirc": "\u{00DB}", "ucirc": "\u{00FB}", "Ugrave": "\u{00D9}", "ugrave": "\u{00F9}", "uml": "\u{00A8}", "upsih": "\u{03D2}",
    "Upsilon": "\u{03A5}", "upsilon": "\u{03C5}", "Uuml": "\u{00DC}", "uuml": "\u{00FC}", "weierp": "\u{2118}", "Xi": "\u{039E}",
    "xi": "\u{03BE}", "Yacute": "\u{00DD}", "yacute": "\u{00FD}", "yen": "\u{00A5}", "Yuml": "\u{0178}", "yuml": "\u{00FF}",
    "Zeta": "\u{0396}", "zeta": "\u{03B6}", "zwj": "\u{200D}", "zwnj": "\u{200C}",
    ]
}
