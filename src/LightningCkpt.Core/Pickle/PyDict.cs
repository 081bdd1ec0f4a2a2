using System;
using System.Collections;
using System.Collections.Generic;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// A Python dict: insertion order kept, any hashable key (strings, ints, tuples, classes used as keys by
    /// Lightning 1.0–1.4 callbacks). Also stands for dict subclasses (OrderedDict, defaultdict, Counter,
    /// AttributeDict, …) named by <see cref="PythonType"/>. It is also a mutable <see cref="IDictionary"/>, so
    /// PowerShell navigates and edits it like a hashtable (<c>$d.epoch = 0</c>, <c>$d.Remove('loops')</c>).
    /// </summary>
    public sealed class PyDict : IEnumerable<KeyValuePair<object?, object?>>, IDictionary
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

        /// <summary>The keys in order: a snapshot, so a loop over them may remove entries.</summary>
        public IEnumerable<object?> Keys => KeyArray();

        /// <summary>The values in order (a snapshot).</summary>
        public IEnumerable<object?> Values => ValueArray();

        private object?[] KeyArray()
        {
            var a = new object?[_entries.Count];
            for (int i = 0; i < a.Length; i++) a[i] = _entries[i].Key;
            return a;
        }

        private object?[] ValueArray()
        {
            var a = new object?[_entries.Count];
            for (int i = 0; i < a.Length; i++) a[i] = _entries[i].Value;
            return a;
        }

        /// <summary>d[k] for reading (null when absent, like a hashtable) and writing.</summary>
        public object? this[object? key]
        {
            get => Get(key);
            set => Set(key, value);
        }

        /// <summary>
        /// Python's del d[k]; the other entries keep their order; nothing when the key is absent. Returns nothing, as a
        /// hashtable's Remove, so <c>$c.Remove('loops')</c> writes nothing into the pipeline (see <see cref="TryRemove"/>).
        /// </summary>
        public void Remove(object? key) => TryRemove(key);

        /// <summary>Python's del d[k]; false when the key is absent.</summary>
        public bool TryRemove(object? key)
        {
            int i = IndexOf(key);
            if (i < 0) return false;
            _entries.RemoveAt(i);
            _index = null;
            if (_entries.Count > IndexThreshold) BuildIndex();
            return true;
        }

        /// <summary>
        /// Gives an entry a new key in the same position (what rebuilding an OrderedDict with a renamed key does).
        /// False when <paramref name="oldKey"/> is absent; an error when <paramref name="newKey"/> is already another entry's.
        /// </summary>
        public bool RenameKey(object? oldKey, object? newKey)
        {
            int i = IndexOf(oldKey);
            if (i < 0) return false;
            int j = IndexOf(newKey);
            if (j >= 0 && j != i) throw new ArgumentException($"the dict already has the key {PyRepr.Render(newKey, 80)}"); // no paramName: .NET would append "(Parameter 'newKey')" to what the user reads
            _entries[i] = new KeyValuePair<object?, object?>(newKey, _entries[i].Value);
            _index = null;
            if (_entries.Count > IndexThreshold) BuildIndex();
            return true;
        }

        /// <summary>
        /// Renames every string key the regular expression matches (Regex.Replace with <paramref name="replacement"/>),
        /// each in its place: <c>$ckpt.state_dict.RenameKeys('^model\.', 'net.')</c>. Returns how many keys changed.
        /// </summary>
        public int RenameKeys(string pattern, string replacement)
        {
            var regex = new System.Text.RegularExpressions.Regex(pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            int changed = 0;
            foreach (var key in KeyArray())
            {
                if (key is not string s) continue;
                var renamed = regex.Replace(s, replacement);
                if (renamed != s && RenameKey(s, renamed)) changed++;
            }
            return changed;
        }

        /// <summary>Python's d.clear().</summary>
        public void Clear()
        {
            _list?.Clear();
            _index = null;
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
        // Untyped enumeration (PowerShell's formatter, IDictionary users) yields DictionaryEntry, as a hashtable does.
        IEnumerator IEnumerable.GetEnumerator() => new EntryEnumerator(_entries);

        // IDictionary, for PowerShell (member access, ConvertTo-Json, Format-*) and other .NET callers.
        bool IDictionary.IsFixedSize => false;
        bool IDictionary.IsReadOnly => false;
        ICollection IDictionary.Keys => KeyArray();
        ICollection IDictionary.Values => ValueArray();
        bool ICollection.IsSynchronized => false;
        object ICollection.SyncRoot => this;
        object? IDictionary.this[object key] { get => Get(key); set => Set(key, value); }
        void IDictionary.Add(object key, object? value)
        {
            if (ContainsKey(key)) throw new ArgumentException($"the key {PyRepr.Render(key, 80)} is already in the dict"); // no paramName, as above
            Set(key, value);
        }
        bool IDictionary.Contains(object key) => ContainsKey(key);
        void IDictionary.Remove(object key) => Remove(key);
        void ICollection.CopyTo(Array array, int index)
        {
            foreach (var e in _entries) array.SetValue(new DictionaryEntry(e.Key!, e.Value), index++);
        }
        IDictionaryEnumerator IDictionary.GetEnumerator() => new EntryEnumerator(_entries);

        private sealed class EntryEnumerator : IDictionaryEnumerator
        {
            private readonly List<KeyValuePair<object?, object?>> _items;
            private int _i = -1;
            public EntryEnumerator(List<KeyValuePair<object?, object?>> items) => _items = items;
            public DictionaryEntry Entry => new DictionaryEntry(_items[_i].Key!, _items[_i].Value);
            public object Key => _items[_i].Key!;
            public object? Value => _items[_i].Value;
            public object Current => Entry;
            public bool MoveNext() => ++_i < _items.Count;
            public void Reset() => _i = -1;
        }
        public override string ToString() => PyRepr.Render(this);
    }
}
