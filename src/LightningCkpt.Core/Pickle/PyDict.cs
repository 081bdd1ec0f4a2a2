using System.Collections;
using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A Python dict: insertion order kept, any hashable key (strings, ints, tuples, classes used as keys by
    /// Lightning 1.0–1.4 callbacks). Also stands for dict subclasses (OrderedDict, defaultdict, Counter,
    /// AttributeDict, …) named by <see cref="PythonType"/>.
    /// </summary>
    public sealed class PyDict : IEnumerable<KeyValuePair<object?, object?>>
    {
        private const int IndexThreshold = 8;
        // allocated on first insert: a hostile pickle of a million empty dicts must stay small (Limits.MaxContainers)
        private static readonly List<KeyValuePair<object?, object?>> NoEntries = new List<KeyValuePair<object?, object?>>();
        private List<KeyValuePair<object?, object?>>? _list;
        private List<KeyValuePair<object?, object?>> _entries => _list ?? NoEntries;
        private Dictionary<object, int>? _index;

        /// <summary>The Python type when it is not a plain dict.</summary>
        public PyGlobal? PythonType { get; set; }

        /// <summary>Attributes set by BUILD on a dict subclass (e.g. OrderedDict's <c>_metadata</c>).</summary>
        public PyDict? Attributes { get; set; }

        /// <summary>defaultdict's factory, kept as data.</summary>
        public object? DefaultFactory { get; set; }

        public int Count => _entries.Count;

        public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;

        public IEnumerable<object?> Keys
        {
            get { foreach (var e in _entries) yield return e.Key; }
        }

        public IEnumerable<object?> Values
        {
            get { foreach (var e in _entries) yield return e.Value; }
        }

        /// <summary>Python's d[k] = v: overwrites in place, keeping the first insertion position.</summary>
        public void Set(object? key, object? value)
        {
            int i = IndexOf(key);
            if (i >= 0)
            {
                _entries[i] = new KeyValuePair<object?, object?>(_entries[i].Key, value);
                return;
            }
            (_list ??= new List<KeyValuePair<object?, object?>>()).Add(new KeyValuePair<object?, object?>(key, value));
            if (_index != null) _index[Box(key)] = _entries.Count - 1;
            else if (_entries.Count > IndexThreshold) BuildIndex();
        }

        public bool ContainsKey(object? key) => IndexOf(key) >= 0;

        public bool TryGetValue(object? key, out object? value)
        {
            int i = IndexOf(key);
            value = i >= 0 ? _entries[i].Value : null;
            return i >= 0;
        }

        /// <summary>The value for a key, or null when absent.</summary>
        public object? Get(object? key) => TryGetValue(key, out var v) ? v : null;

        private int IndexOf(object? key)
        {
            if (_index != null) return _index.TryGetValue(Box(key), out int j) ? j : -1;
            for (int i = 0; i < _entries.Count; i++)
                if (PyKeyComparer.Instance.Equals(_entries[i].Key, key)) return i;
            return -1;
        }

        private void BuildIndex()
        {
            _index = new Dictionary<object, int>(new BoxedComparer());
            for (int i = 0; i < _entries.Count; i++)
            {
                var k = Box(_entries[i].Key);
                if (!_index.ContainsKey(k)) _index[k] = i;
            }
        }

        // Dictionary<,> refuses null keys; None is a legal Python key.
        private static readonly object NoneKey = new object();
        private static object Box(object? key) => key ?? NoneKey;

        private sealed class BoxedComparer : IEqualityComparer<object>
        {
            public new bool Equals(object x, object y) => PyKeyComparer.Instance.Equals(Unbox(x), Unbox(y));
            public int GetHashCode(object obj) => PyKeyComparer.Instance.GetHashCode(Unbox(obj));
            private static object? Unbox(object o) => ReferenceEquals(o, NoneKey) ? null : o;
        }

        public IEnumerator<KeyValuePair<object?, object?>> GetEnumerator() => _entries.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();
        public override string ToString() => PyRepr.Render(this);
    }
}
