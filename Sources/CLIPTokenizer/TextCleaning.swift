extension CLIPTokenizer {
    /// The text as CLIP's `encode` splits it: `whitespace_clean(basic_clean(text)).lower()` of
    /// `simple_tokenizer.py` — HTML references unescaped twice, trimmed, runs of white space made one space,
    /// trimmed again, lower-cased.
    ///
    /// `ftfy.fix_text`, which `basic_clean` runs first, is not applied: the input is assumed to be valid,
    /// clean Unicode. Text ftfy would repair — mojibake (`cafÃ©`), curly quotes (`’` is `'` after ftfy),
    /// ligatures (`ﬁ`), full-width forms (`ＡＢＣ`), text not in NFC, terminal escapes, `&…;` outside lines
    /// with `<` (ftfy unescapes those once more) — can give other ids than the Python. Attribute sentences are
    /// plain text and are not affected.
    ///
    /// Everything else is as the Python does it, on Unicode scalars (Python's code points): trimming removes
    /// what `str.isspace` calls space (White_Space plus U+001C-U+001F), the collapse uses `regex`'s `\s`
    /// (White_Space), and lower-casing is `str.lower`'s full mapping, final sigma (`ΟΔΟΣ` → `οδος`) included.
    /// Character properties come from Swift's Unicode tables: for every character of Unicode 14 (Python 3.11's)
    /// cleaning and splitting agree with the Python; characters added since may be classified differently.
    public static func cleanText(_ text: String) -> String {
        String(String.UnicodeScalarView(TextCleaning.clean(Array(text.unicodeScalars))))
    }
}

/// The steps of `CLIPTokenizer.cleanText`, on scalars.
enum TextCleaning {
    static func clean(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let unescaped = HTMLUnescape.unescape(HTMLUnescape.unescape(text))
        return lowercased(trimmed(collapsingWhiteSpace(trimmed(unescaped))))
    }

    /// Python's `str.isspace`: White_Space, plus the information separators U+001C-U+001F.
    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    /// `str.strip()`.
    static func trimmed(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard let first = s.firstIndex(where: { !isPythonSpace($0) }),
              let last = s.lastIndex(where: { !isPythonSpace($0) }) else { return [] }
        return Array(s[first...last])
    }

    /// `regex.sub(r'\s+', ' ', s)`: `\s` is White_Space.
    static func collapsingWhiteSpace(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var inRun = false
        for c in s {
            if c.properties.isWhitespace {
                if !inRun { out.append(" ") }
                inRun = true
            } else {
                out.append(c)
                inRun = false
            }
        }
        return out
    }

    /// `str.lower()`: each scalar's full lower-case mapping; capital sigma becomes final sigma `ς` after a
    /// cased letter (case-ignorable scalars skipped) that is not followed by one, as CPython decides it.
    static func lowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c == "\u{03A3}" {
                out.append(isFinalSigma(s, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else if c.isASCII {
                out.append(c.properties.isUppercase ? Unicode.Scalar(c.value + 0x20) ?? c : c)
            } else {
                out += c.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }

    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        let before = s[..<i].last { !$0.properties.isCaseIgnorable }
        guard let before, before.properties.isCased else { return false }
        let after = s[(i + 1)...].first { !$0.properties.isCaseIgnorable }
        return after.map { !$0.properties.isCased } ?? true
    }
}
