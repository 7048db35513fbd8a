extension CLIPTokenizer {
    /// The pieces `re.findall` gives for CLIP's pattern, case-insensitive:
    /// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
    ///
    /// At each position the alternatives are tried in that order: a special token, a contraction, a run of
    /// letters, one digit, or a run of anything else but white space; white space separates pieces and is
    /// dropped. Works on Unicode scalars, as Python's `regex` does on code points. Matches `regex`'s
    /// case-insensitive quirks: `ſ` (U+017F) counts as `s` in the literals, and U+0345 (combining
    /// ypogegrammeni, which folds to a letter) matches no alternative and is dropped like white space.
    /// - Parameter text: cleaned text (`cleanText`).
    public static func preTokenize(_ text: String) -> [String] {
        PreTokenizer.pieces(Array(text.unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
    }
}

/// CLIP's split pattern, written out as a scanner.
enum PreTokenizer {
    static let specials: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
    /// The literal alternatives, in the pattern's order.
    static let literals = specials + contractions

    enum Kind { case letter, number, separator, other }

    /// `\p{L}`, `\p{N}`, `\s` (White_Space), or none of them.
    static func kind(_ c: Unicode.Scalar) -> Kind {
        if c.properties.isWhitespace || c == "\u{0345}" { return .separator }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    static func pieces(_ s: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        while i < s.count {
            if let literal = literals.first(where: { matches(s, at: i, $0) }) {
                out.append(s[i..<(i + literal.count)])
                i += literal.count
                continue
            }
            let kind = kind(s[i])
            switch kind {
            case .separator:
                i += 1
            case .number:
                out.append(s[i...i])
                i += 1
            case .letter, .other:
                var end = i + 1
                while end < s.count, self.kind(s[end]) == kind { end += 1 }
                out.append(s[i..<end])
                i = end
            }
        }
        return out
    }

    /// Whether `literal` (lower-case ASCII) is at `i`, ignoring case as `regex` does.
    static func matches(_ s: [Unicode.Scalar], at i: Int, _ literal: [Unicode.Scalar]) -> Bool {
        guard s[i] == literal[0], i + literal.count <= s.count else { return false }
        for (k, l) in literal.enumerated().dropFirst() where !sameIgnoringCase(s[i + k], l) { return false }
        return true
    }

    private static func sameIgnoringCase(_ c: Unicode.Scalar, _ lower: Unicode.Scalar) -> Bool {
        c == lower || (("a"..."z").contains(lower) && c.value == lower.value - 0x20) || (lower == "s" && c == "\u{017F}")
    }
}
