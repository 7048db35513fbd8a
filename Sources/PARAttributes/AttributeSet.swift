import Foundation

/// The attributes a model's heads predict, in head order: for each a short snake_case name (for event
/// fields) and the sentence the text encoder reads, plus groups whose members exclude each other (at
/// most one label per group). Always valid: every initialiser checks names, sentences and groups.
public struct AttributeSet: Sendable, Hashable {
    /// One attribute: its field name and the sentence that describes it to the text encoder.
    public struct Attribute: Sendable, Hashable {
        /// Short snake_case name, unique in the set (`upper_short_sleeve`).
        public let name: String
        /// The sentence, verbatim as the model was trained with it.
        public let sentence: String

        /// An attribute; `AttributeSet`'s initialisers check it.
        public init(name: String, sentence: String) {
            self.name = name
            self.sentence = sentence
        }
    }

    /// Attributes of which at most one may be a label (the age ranges of a dataset, say).
    public struct ExclusiveGroup: Sendable, Hashable {
        /// The group's name (`age`).
        public let name: String
        /// Indices of the members into `attributes`, in the order the file lists them.
        public let members: [Int]
    }

    /// The set's name (`PA100k`).
    public let name: String
    /// The attributes in head order.
    public let attributes: [Attribute]
    /// The attribute names in head order.
    public let names: [String]
    /// The sentences in head order.
    public let sentences: [String]
    /// The exclusive groups; no attribute is in more than one.
    public let exclusiveGroups: [ExclusiveGroup]

    /// The number of attributes, which must equal the model's number of heads.
    public var count: Int { attributes.count }

    /// A set built in code, checked like a file: `source` names it in errors, and the paths in errors
    /// are those the same set would have in JSON (`$.exclusive_groups[1].members[0]`).
    public init(name: String, attributes: [Attribute], exclusiveGroups: [(name: String, members: [String])],
                source: String = "<in memory>") throws(AttributeSetError) {
        guard !name.isEmpty else { throw .empty(file: source, path: "$.name") }
        guard !attributes.isEmpty else { throw .empty(file: source, path: "$.attributes") }
        var index: [String: Int] = [:]
        for (i, attribute) in attributes.enumerated() {
            let path = "$.attributes[\(i)]"
            guard Self.isFieldName(attribute.name) else {
                throw .invalidName(file: source, path: "\(path).name", name: attribute.name)
            }
            guard index[attribute.name] == nil else {
                throw .duplicateName(file: source, path: "\(path).name", name: attribute.name)
            }
            guard !attribute.sentence.allSatisfy(\.isWhitespace) else {
                throw .emptySentence(file: source, path: "\(path).sentence", attribute: attribute.name)
            }
            index[attribute.name] = i
        }
        var groups: [ExclusiveGroup] = []
        var groupOf: [Int: String] = [:]
        for (g, group) in exclusiveGroups.enumerated() {
            let path = "$.exclusive_groups[\(g)]"
            guard !group.name.isEmpty else { throw .empty(file: source, path: "\(path).name") }
            guard !groups.contains(where: { $0.name == group.name }) else {
                throw .duplicateGroup(file: source, path: "\(path).name", name: group.name)
            }
            guard group.members.count >= 2 else {
                throw .groupTooSmall(file: source, path: "\(path).members", group: group.name)
            }
            var members: [Int] = []
            for (m, member) in group.members.enumerated() {
                let memberPath = "\(path).members[\(m)]"
                guard let i = index[member] else {
                    throw .unknownMember(file: source, path: memberPath, member: member, group: group.name)
                }
                guard !members.contains(i) else {
                    throw .duplicateMember(file: source, path: memberPath, member: member, group: group.name)
                }
                if let other = groupOf[i] {
                    throw .memberInTwoGroups(file: source, path: memberPath, member: member, first: other, second: group.name)
                }
                groupOf[i] = group.name
                members.append(i)
            }
            groups.append(ExclusiveGroup(name: group.name, members: members))
        }
        self.name = name
        self.attributes = attributes
        self.names = attributes.map(\.name)
        self.sentences = attributes.map(\.sentence)
        self.exclusiveGroups = groups
    }

    /// Whether `s` is a valid attribute name: `a`–`z`, `0`–`9` and `_`, starting with a letter.
    public static func isFieldName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// The head index of the attribute called `name`, if there is one.
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// Indices of the labels, in head order: the attributes whose probability is at or over `threshold`,
    /// except that of an exclusive group at most one is kept, its most probable member (the first listed
    /// on a tie) when that is at or over the threshold. `probabilities` are in head order; values past
    /// `count` are ignored and missing ones count as under the threshold, as does NaN.
    public func labels(probabilities: [Float], threshold: Float) -> [Int] {
        let n = min(probabilities.count, count)
        var keep = (0..<n).map { probabilities[$0] >= threshold }
        for group in exclusiveGroups {
            var best: Int?
            for m in group.members where m < n && keep[m] {
                if let b = best, probabilities[m] <= probabilities[b] { continue }
                best = m
            }
            for m in group.members where m < n && m != best { keep[m] = false }
        }
        return (0..<n).filter { keep[$0] }
    }

    /// The names of the labels, in head order (see `labels(probabilities:threshold:)`).
    public func labelNames(probabilities: [Float], threshold: Float) -> [String] {
        labels(probabilities: probabilities, threshold: threshold).map { names[$0] }
    }
}
