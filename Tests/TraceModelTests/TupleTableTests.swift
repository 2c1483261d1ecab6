import XCTest
import TraceModel

/// TupleTable holds the per-packet connection lookups of the capture path; it must answer as a
/// Dictionary would, also when many keys share a bucket and keys are removed from the middle of a run.
final class TupleTableTests: XCTestCase {
    struct Pair: Equatable { let a: UInt64, b: UInt64 }

    /// Random inserts and removals, checked against a Dictionary after every step; `hash` maps keys to
    /// few words so that probe runs are long and wrap around the table's end.
    private func checkAgainstDictionary(hash: (Pair) -> UInt64, steps: Int) {
        var table = TupleTable<Pair>()
        var model: [UInt64: Int] = [:]
        var g = SystemRandomNumberGenerator()
        for step in 0..<steps {
            let k = UInt64.random(in: 0..<500, using: &g)
            let key = Pair(a: k, b: k &* 31)
            if model[k] == nil {
                table.insert(key, hash: hash(key), value: step)
                model[k] = step
            } else if Bool.random(using: &g) {
                XCTAssertEqual(table.remove(key, hash: hash(key)), model.removeValue(forKey: k))
            }
            XCTAssertEqual(table.count, model.count)
            if step % 97 == 0 {
                for k in 0..<UInt64(500) {
                    let key = Pair(a: k, b: k &* 31)
                    XCTAssertEqual(table.find(key, hash: hash(key)), model[k], "key \(k) after step \(step)")
                }
            }
        }
    }

    func testAnswersAsADictionaryWithAGoodHash() {
        checkAgainstDictionary(hash: { foldWords($0.a, $0.b) }, steps: 20_000)
    }

    func testAnswersAsADictionaryWhenKeysShareBuckets() {
        checkAgainstDictionary(hash: { $0.a % 7 }, steps: 5_000)
    }

    func testRemoveAllEmptiesIt() {
        var table = TupleTable<Pair>()
        for k in 0..<UInt64(100) { table.insert(Pair(a: k, b: 0), hash: k, value: Int(k)) }
        table.removeAll()
        XCTAssertEqual(table.count, 0)
        XCTAssertNil(table.find(Pair(a: 5, b: 0), hash: 5))
        table.insert(Pair(a: 5, b: 0), hash: 5, value: 50)
        XCTAssertEqual(table.find(Pair(a: 5, b: 0), hash: 5), 50)
    }
}
