import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

/// Reading and checking the JSON form: every malformed input is an error naming the file and the path.
@Suite struct FormatTests {
    func parse(_ json: String) throws(AttributeSetError) -> AttributeSet {
        try AttributeSet(json: Data(json.utf8), source: "test.json")
    }

    static let ab = #"[{"name": "a", "sentence": "A"}, {"name": "b", "sentence": "B"}, {"name": "c", "sentence": "C"}]"#

    @Test func aValidSet() throws {
        let set = try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["c", "a"]}]}"#)
        #expect(set.name == "X" && set.names == ["a", "b", "c"] && set.sentences == ["A", "B", "C"])
        #expect(set.exclusiveGroups == [AttributeSet.ExclusiveGroup(name: "g", members: [2, 0])])
        #expect(set.index(of: "c") == 2 && set.index(of: "d") == nil)
    }

    @Test func groupsAreOptional() throws {
        #expect(try parse(#"{"name": "X", "attributes": \#(Self.ab)}"#).exclusiveGroups.isEmpty)
    }

    @Test func unknownKeysNameTheirPath() {
        #expect(throws: AttributeSetError.unknownKey(file: "test.json", path: "$.colour")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "colour": 1}"#)
        }
        #expect(throws: AttributeSetError.unknownKey(file: "test.json", path: "$.attributes[1].colour")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "A"}, {"name": "b", "sentence": "B", "colour": "red"}]}"#)
        }
        #expect(throws: AttributeSetError.unknownKey(file: "test.json", path: "$.exclusive_groups[0].size")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", "b"], "size": 2}]}"#)
        }
        #expect(throws: AttributeSetError.unknownKey(file: "test.json", path: #"$["exclusive groups"]"#)) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive groups": []}"#)
        }
        #expect(AttributeSetError.unknownKey(file: "test.json", path: "$.colour").description == "test.json: $.colour: unknown key")
    }

    @Test func aMemberThatIsNotAnAttributeNamesItsPath() {
        let error = AttributeSetError.unknownMember(file: "test.json", path: "$.exclusive_groups[0].members[1]", member: "d", group: "g")
        #expect(throws: error) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", "d"]}]}"#)
        }
        #expect(error.description.contains("test.json") && error.description.contains("$.exclusive_groups[0].members[1]")
                && error.description.contains("'d'"))
    }

    @Test func anAttributeInTwoGroups() {
        #expect(throws: AttributeSetError.memberInTwoGroups(file: "test.json", path: "$.exclusive_groups[1].members[0]",
                                                              member: "b", first: "g", second: "h")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", "b"]}, {"name": "h", "members": ["b", "c"]}]}"#)
        }
    }

    @Test func badGroups() {
        #expect(throws: AttributeSetError.duplicateMember(file: "test.json", path: "$.exclusive_groups[0].members[1]", member: "a", group: "g")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", "a"]}]}"#)
        }
        #expect(throws: AttributeSetError.groupTooSmall(file: "test.json", path: "$.exclusive_groups[0].members", group: "g")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a"]}]}"#)
        }
        #expect(throws: AttributeSetError.duplicateGroup(file: "test.json", path: "$.exclusive_groups[1].name", name: "g")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", "b"]}, {"name": "g", "members": ["c", "c"]}]}"#)
        }
        #expect(throws: AttributeSetError.wrongType(file: "test.json", path: "$.exclusive_groups[0].members[1]", expected: "an attribute name (string)")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g", "members": ["a", 2]}]}"#)
        }
        #expect(throws: AttributeSetError.missingKey(file: "test.json", path: "$.exclusive_groups[0].members")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": [{"name": "g"}]}"#)
        }
    }

    @Test func duplicateAttributeNames() {
        #expect(throws: AttributeSetError.duplicateName(file: "test.json", path: "$.attributes[1].name", name: "a")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "A"}, {"name": "a", "sentence": "B"}]}"#)
        }
    }

    @Test func emptySentences() {
        #expect(throws: AttributeSetError.emptySentence(file: "test.json", path: "$.attributes[1].sentence", attribute: "b")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "A"}, {"name": "b", "sentence": " \t"}]}"#)
        }
        #expect(throws: AttributeSetError.emptySentence(file: "test.json", path: "$.attributes[0].sentence", attribute: "a")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": ""}]}"#)
        }
    }

    @Test func sentencesAreKeptVerbatim() throws {
        let set = try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": " pedestrian wearing a hat"}, {"name": "b", "sentence": "say \"hi\"\\ été"}]}"#)
        #expect(set.sentences == [" pedestrian wearing a hat", "say \"hi\"\\ été"])
        #expect(try AttributeSet(json: set.jsonData(), source: "round trip") == set)
    }

    @Test func namesMustBeSnakeCase() {
        for bad in ["Big Hat", "bigHat", "1st", "_a", "hat-brim", ""] {
            #expect(throws: AttributeSetError.invalidName(file: "test.json", path: "$.attributes[0].name", name: bad)) {
                try parse(#"{"name": "X", "attributes": [{"name": "\#(bad)", "sentence": "s"}]}"#)
            }
        }
    }

    @Test func missingAndMistypedValues() {
        #expect(throws: AttributeSetError.missingKey(file: "test.json", path: "$.name")) {
            try parse(#"{"attributes": \#(Self.ab)}"#)
        }
        #expect(throws: AttributeSetError.missingKey(file: "test.json", path: "$.attributes")) {
            try parse(#"{"name": "X"}"#)
        }
        #expect(throws: AttributeSetError.missingKey(file: "test.json", path: "$.attributes[0].sentence")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a"}]}"#)
        }
        #expect(throws: AttributeSetError.wrongType(file: "test.json", path: "$.attributes[0].sentence", expected: "a string")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": 3}]}"#)
        }
        #expect(throws: AttributeSetError.wrongType(file: "test.json", path: "$.attributes[1]", expected: "an object")) {
            try parse(#"{"name": "X", "attributes": [{"name": "a", "sentence": "A"}, "b"]}"#)
        }
        #expect(throws: AttributeSetError.wrongType(file: "test.json", path: "$.exclusive_groups", expected: "an array")) {
            try parse(#"{"name": "X", "attributes": \#(Self.ab), "exclusive_groups": {}}"#)
        }
        #expect(throws: AttributeSetError.wrongType(file: "test.json", path: "$", expected: "an object")) {
            try parse(#"["a"]"#)
        }
        #expect(throws: AttributeSetError.empty(file: "test.json", path: "$.attributes")) {
            try parse(#"{"name": "X", "attributes": []}"#)
        }
        #expect(throws: AttributeSetError.empty(file: "test.json", path: "$.name")) {
            try parse(#"{"name": "", "attributes": \#(Self.ab)}"#)
        }
    }

    @Test func notJSON() {
        let error = #expect(throws: AttributeSetError.self) { try parse("{name: X") }
        guard case .notJSON(let file, _)? = error else {
            Issue.record("expected notJSON, got \(String(describing: error))")
            return
        }
        #expect(file == "test.json")
    }

    @Test func fileErrorsNameTheFile() throws {
        let tmp = try TemporaryDirectory("attr-format")
        let url = tmp.url.appendingPathComponent("bad.json")
        try Data(#"{"name": "X", "attributes": [{"name": "a", "sentence": "A", "extra": true}]}"#.utf8).write(to: url)
        #expect(throws: AttributeSetError.unknownKey(file: url.path, path: "$.attributes[0].extra")) {
            try AttributeSet(contentsOf: url)
        }
        #expect(throws: AttributeSetError.unreadable(file: tmp.url.path, reason: "is a directory")) {
            try AttributeSet(contentsOf: tmp.url)
        }
    }

    @Test func inCodeSetsAreCheckedLikeFiles() throws {
        #expect(throws: AttributeSetError.unknownMember(file: "<in memory>", path: "$.exclusive_groups[0].members[0]", member: "z", group: "g")) {
            try AttributeSet(name: "X", attributes: [.init(name: "a", sentence: "A"), .init(name: "b", sentence: "B")],
                             exclusiveGroups: [(name: "g", members: ["z", "a"])])
        }
    }

    @Test func everyErrorDescriptionIsOneLine() {
        let errors: [AttributeSetError] = [
            .unreadable(file: "f", reason: "r"), .notJSON(file: "f", reason: "r"), .unknownKey(file: "f", path: "$.k"),
            .missingKey(file: "f", path: "$.k"), .wrongType(file: "f", path: "$.k", expected: "a string"),
            .empty(file: "f", path: "$.name"), .emptySentence(file: "f", path: "$.attributes[0].sentence", attribute: "a"),
            .invalidName(file: "f", path: "$.attributes[0].name", name: "A"), .duplicateName(file: "f", path: "$.p", name: "a"),
            .duplicateGroup(file: "f", path: "$.p", name: "g"), .groupTooSmall(file: "f", path: "$.p", group: "g"),
            .unknownMember(file: "f", path: "$.p", member: "m", group: "g"),
            .duplicateMember(file: "f", path: "$.p", member: "m", group: "g"),
            .memberInTwoGroups(file: "f", path: "$.p", member: "m", first: "g", second: "h"),
            .presetNotFound(name: "n", looked: ["/a/n.json", "/b/n.json"], known: ["N"]),
            .noPresetFits(attributeCount: 7, presets: ["A (1)"]), .ambiguous(attributeCount: 2, candidates: ["A", "B"]),
            .countMismatch(set: "S", attributes: 1, heads: 2),
        ]
        for error in errors {
            #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(error)")
        }
        for error in errors.prefix(14) { #expect(error.description.hasPrefix("f: "), "\(error)") }
    }
}
